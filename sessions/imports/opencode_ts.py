"""opencode's (TypeScript) own storage: ``~/.local/share/opencode/storage/``.

``session/<project id>/<session id>.json`` (``id``, ``title``, ``directory``, ``parentID``,
``time.created`` / ``time.updated`` in ms), ``message/<session id>/<message id>.json``
(``role``, ``time``, ``modelID`` + ``providerID`` or ``model: {providerID, modelID}``,
``tokens``, ``finish``) and ``part/<message id>/<part id>.json``: ``text`` (``text``),
``reasoning`` (``text``), ``tool`` (``tool``, ``callID``, ``state: {status, input, output,
error}``). Other part types (``step-start``, ``step-finish``, ``file``, ``patch``,
``snapshot``, ``agent``, ``compaction``, ...) and unreadable files are kept raw.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from opencode.sessions.imports import (
    ImportedMessage,
    ImportedPart,
    ImportedSession,
    RawRecord,
    as_dict,
    as_text,
    parse_time,
)


def default_root() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or "~/.local/share"
    return Path(base).expanduser() / "opencode" / "storage"


def files(root: Path) -> list[Path]:
    """The session files (``PATH`` may be the storage folder or one session file)."""
    if root.is_file():
        return [root]
    return sorted((root / "session").glob("*/*.json"))


def _storage_root(session_file: Path) -> Path:
    return session_file.parent.parent.parent  # storage/session/<project>/<id>.json


def _load(path: Path) -> tuple[Any | None, str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return None, f"unreadable: {exc.strerror}"
    try:
        return json.loads(text), text
    except json.JSONDecodeError:
        return None, text


def read(path: Path) -> list[ImportedSession]:
    info, raw = _load(path)
    if not isinstance(info, dict) or not isinstance(info.get("id"), str):
        session = ImportedSession("opencode", path.stem, str(path), cwd="")
        session.raw.append(RawRecord(None, "session:unreadable", raw))
        return [session]
    times = as_dict(info.get("time"))
    session = ImportedSession(
        source="opencode",
        source_id=info["id"],
        path=str(path),
        cwd=str(info.get("directory") or ""),
        title=str(info.get("title") or ""),
        created_at=parse_time(times.get("created")) or 0.0,
        updated_at=parse_time(times.get("updated")) or 0.0,
    )
    root = _storage_root(path)
    message_files = sorted((root / "message" / info["id"]).glob("*.json"))
    loaded: list[tuple[dict[str, Any], Path]] = []
    for message_file in message_files:
        message, text = _load(message_file)
        if isinstance(message, dict) and message.get("role") in ("user", "assistant"):
            loaded.append((message, message_file))
        else:
            session.raw.append(RawRecord(None, "message:unknown", text))
    loaded.sort(key=lambda m: (_created(m[0]), m[1].name))
    for message, message_file in loaded:
        session.messages.append(_message(session, message, message_file.stem, root))
    session.messages = [m for m in session.messages if m.parts]
    return [session]


def _created(message: dict[str, Any]) -> float:
    times = as_dict(message.get("time"))
    return parse_time(times.get("created")) or 0.0


def _message(
    session: ImportedSession, message: dict[str, Any], message_id: str, root: Path
) -> ImportedMessage:
    model_info = as_dict(message.get("model"))
    provider = message.get("providerID") or model_info.get("providerID")
    model_id = message.get("modelID") or model_info.get("modelID")
    ref = f"{provider}/{model_id}" if provider and model_id else None
    if ref and not session.model:
        session.model = ref
    tokens = as_dict(message.get("tokens"))
    finish = str(message.get("finish") or "stop")
    imported = ImportedMessage(
        key=str(message.get("id") or message_id),
        role=str(message["role"]),
        created_at=_created(message) or session.created_at,
        model=ref if message["role"] == "assistant" else None,
        finish="tool_calls" if finish == "tool-calls" else finish,
        input_tokens=tokens.get("input") if isinstance(tokens.get("input"), int) else None,
        output_tokens=tokens.get("output") if isinstance(tokens.get("output"), int) else None,
    )
    if isinstance(message.get("error"), dict):
        error = message["error"]
        data = as_dict(error.get("data"))
        text = data.get("message") or error.get("name") or "error"
        imported.parts.append(ImportedPart("error", str(text)))
    part_files = sorted((root / "part" / imported.key).glob("*.json"))
    for part_file in part_files:
        part, text = _load(part_file)
        if not isinstance(part, dict):
            session.raw.append(RawRecord(None, "part:unreadable", text))
            continue
        imported.parts[len(imported.parts) :] = _parts(session, part, text)
    return imported


def _parts(session: ImportedSession, part: dict[str, Any], raw: str) -> list[ImportedPart]:
    ptype = str(part.get("type", "?"))
    if ptype in ("text", "reasoning") and isinstance(part.get("text"), str):
        meta = {"synthetic": True} if part.get("synthetic") else {}
        kind = "text" if ptype == "text" else "reasoning"
        return [ImportedPart(kind, part["text"], metadata=meta)]
    if ptype == "tool" and isinstance(part.get("state"), dict):
        state = part["state"]
        status = str(state.get("status") or "completed")
        call_id = str(part.get("callID") or part.get("id") or "")
        name = str(part.get("tool") or "")
        call = ImportedPart(
            "tool_call",
            tool_name=name,
            tool_call_id=call_id,
            tool_args=json.dumps(state.get("input") or {}, ensure_ascii=False),
            status=status if status in ("completed", "error") else "interrupted",
        )
        if status == "completed":
            output = as_text(state.get("output"))
        elif status == "error":
            output = as_text(state.get("error"))
        else:
            return [call]
        return [
            call,
            ImportedPart(
                "tool_result", output, tool_name=name, tool_call_id=call_id, status=status
            ),
        ]
    session.raw.append(RawRecord(None, f"part:{ptype}", raw))
    return []
