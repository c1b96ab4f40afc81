"""Claude Code transcripts: ``~/.claude/projects/<encoded cwd>/<session id>.jsonl``.

One JSON object a line. ``user`` / ``assistant`` lines carry ``message`` (Anthropic Messages
shape: ``content`` a string or a list of ``text`` / ``thinking`` / ``tool_use`` /
``tool_result`` blocks), with ``uuid``, ``sessionId``, ``cwd``, ``timestamp``. A tool's result
comes back in a ``user`` line and is attached to the assistant message that made the call.
``summary`` lines give the title. Everything else (``system``, ``file-history-snapshot``,
``queue-operation``, sidechain (subagent) lines, image blocks, unknown types) is kept raw.
"""

from __future__ import annotations

import json
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
    read_jsonl,
)

DEFAULT_ROOT = Path("~/.claude/projects")


def files(root: Path) -> list[Path]:
    return [root] if root.is_file() else sorted(root.rglob("*.jsonl"))


def read(path: Path) -> list[ImportedSession]:
    counted: set[str] = set()  # API message ids whose usage is already counted
    sessions: dict[str, ImportedSession] = {}
    calls: dict[str, tuple[ImportedMessage, str]] = {}  # tool_use id -> (message, tool name)
    titles: dict[str, str] = {}
    orphan_raw: list[RawRecord] = []
    last_time = 0.0
    for number, record, raw in read_jsonl(path):
        if not isinstance(record, dict):
            orphan_raw.append(RawRecord(number, "not-json", raw))
            continue
        kind = str(record.get("type", "?"))
        sid = record.get("sessionId") or path.stem
        if kind == "summary" and isinstance(record.get("summary"), str):
            titles[str(sid)] = record["summary"]
            orphan_raw.append(RawRecord(number, "summary", raw))
            continue
        session = sessions.get(str(sid))
        if session is None:
            session = ImportedSession(
                source="claude",
                source_id=str(sid),
                path=str(path),
                cwd=str(record.get("cwd") or ""),
            )
            sessions[str(sid)] = session
        when = parse_time(record.get("timestamp")) or last_time
        last_time = when
        session.created_at = session.created_at or when
        session.updated_at = max(session.updated_at, when)
        if not session.cwd and record.get("cwd"):
            session.cwd = str(record["cwd"])
        message = record.get("message")
        if (
            kind not in ("user", "assistant")
            or record.get("isSidechain")
            or not isinstance(message, dict)
        ):
            tag = f"sidechain:{kind}" if record.get("isSidechain") else kind
            session.raw.append(RawRecord(number, tag, raw))
            continue
        key = str(record.get("uuid") or f"line{number}")
        content = message.get("content")
        if kind == "user":
            _user(session, number, key, when, content, calls, raw)
        else:
            _assistant(session, number, key, when, message, calls, raw, counted)
    if orphan_raw and not sessions:
        # Nothing but unreadable or title lines: still kept, under the file's own name.
        sessions[path.stem] = ImportedSession("claude", path.stem, str(path), cwd="")
    for sid, session in sessions.items():
        session.title = titles.get(sid) or _first_user_text(session)
        if orphan_raw:
            session.raw[:0] = orphan_raw  # lines with no session of their own: kept with it
            orphan_raw = []
    return [s for s in sessions.values() if s.messages or s.raw]


def _user(
    session: ImportedSession,
    number: int,
    key: str,
    when: float,
    content: Any,
    calls: dict[str, tuple[ImportedMessage, str]],
    raw: str,
) -> None:
    if isinstance(content, str):
        session.messages.append(ImportedMessage(key, "user", when, [ImportedPart("text", content)]))
        return
    if not isinstance(content, list):
        session.raw.append(RawRecord(number, "user:unknown-content", raw))
        return
    texts: list[ImportedPart] = []
    for block in content:
        btype = block.get("type") if isinstance(block, dict) else None
        if btype == "text" and isinstance(block.get("text"), str):
            texts.append(ImportedPart("text", block["text"]))
        elif btype == "tool_result" and block.get("tool_use_id") in calls:
            owner, tool = calls[block["tool_use_id"]]
            error = bool(block.get("is_error"))
            owner.parts.append(
                ImportedPart(
                    "tool_result",
                    as_text(block.get("content")),
                    tool_name=tool,
                    tool_call_id=block["tool_use_id"],
                    status="error" if error else "completed",
                )
            )
            for part in owner.parts:
                if part.kind == "tool_call" and part.tool_call_id == block["tool_use_id"]:
                    part.status = "error" if error else "completed"
        else:
            session.raw.append(RawRecord(number, f"user:{btype or 'unknown'}", json.dumps(block)))
    if texts:
        session.messages.append(ImportedMessage(key, "user", when, texts))


def _assistant(
    session: ImportedSession,
    number: int,
    key: str,
    when: float,
    message: dict[str, Any],
    calls: dict[str, tuple[ImportedMessage, str]],
    raw: str,
    counted: set[str],
) -> None:
    model = message.get("model") if isinstance(message.get("model"), str) else None
    if model and not session.model:
        session.model = f"anthropic/{model}"
    usage = as_dict(message.get("usage"))
    # One API message is written as one line per content block, each repeating its usage:
    # count it once.
    api_id = message.get("id")
    if isinstance(api_id, str):
        if api_id in counted:
            usage = {}
        counted.add(api_id)
    imported = ImportedMessage(
        key,
        "assistant",
        when,
        model=f"anthropic/{model}" if model else None,
        finish="tool_calls" if message.get("stop_reason") == "tool_use" else "stop",
        input_tokens=usage.get("input_tokens"),
        output_tokens=usage.get("output_tokens"),
    )
    content = message.get("content")
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
    for block in blocks if isinstance(blocks, list) else []:
        btype = block.get("type") if isinstance(block, dict) else None
        if btype == "text" and isinstance(block.get("text"), str):
            imported.parts.append(ImportedPart("text", block["text"]))
        elif btype == "thinking" and isinstance(block.get("thinking"), str):
            imported.parts.append(ImportedPart("reasoning", block["thinking"]))
        elif btype == "tool_use" and isinstance(block.get("id"), str):
            name = str(block.get("name") or "")
            imported.parts.append(
                ImportedPart(
                    "tool_call",
                    tool_name=name,
                    tool_call_id=block["id"],
                    tool_args=json.dumps(block.get("input") or {}, ensure_ascii=False),
                    status="pending",
                )
            )
            calls[block["id"]] = (imported, name)
        else:
            session.raw.append(
                RawRecord(number, f"assistant:{btype or 'unknown'}", json.dumps(block))
            )
    if imported.parts:
        session.messages.append(imported)
    elif not isinstance(blocks, list):
        session.raw.append(RawRecord(number, "assistant:unknown-content", raw))


def _first_user_text(session: ImportedSession) -> str:
    for message in session.messages:
        if message.role == "user":
            text = " ".join(p.content for p in message.parts if p.kind == "text").strip()
            if text:
                return text.splitlines()[0][:80]
    return ""
