"""Codex CLI rollouts: ``~/.codex/sessions/YYYY/MM/DD/rollout-<time>-<uuid>.jsonl``.

One JSON object a line: ``{"timestamp", "type", "payload"}``. ``session_meta`` (first) gives
the id and cwd; ``turn_context`` the model; ``response_item`` payloads are the conversation:
``message`` (role user/assistant, ``content`` blocks ``input_text`` / ``output_text``),
``function_call`` (``name``, ``arguments`` JSON text, ``call_id``), ``function_call_output``
(``call_id``, ``output``: text, or JSON text ``{"output": ..., "metadata": ...}`` in some
versions), ``custom_tool_call`` / ``custom_tool_call_output`` (``input`` / ``output``),
``reasoning`` (readable ``summary`` blocks). ``event_msg`` lines repeat the conversation for the
UI; they, user messages that are injected context (``<environment_context>``,
``<user_instructions>``), encrypted reasoning and anything unknown are kept raw.

Older rollouts (before ``payload``) put the items at the top level: handled the same way.
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

DEFAULT_ROOT = Path("~/.codex/sessions")
_INJECTED = ("<environment_context>", "<user_instructions>", "# AGENTS.md instructions")


def files(root: Path) -> list[Path]:
    return [root] if root.is_file() else sorted(root.rglob("rollout-*.jsonl"))


def read(path: Path) -> list[ImportedSession]:
    session = ImportedSession(source="codex", source_id=path.stem, path=str(path), cwd="")
    calls: dict[str, tuple[ImportedMessage, ImportedPart]] = {}
    current: ImportedMessage | None = None  # the assistant message tool calls attach to
    last_time = 0.0
    for number, record, raw in read_jsonl(path):
        if not isinstance(record, dict):
            session.raw.append(RawRecord(number, "not-json", raw))
            continue
        kind = str(record.get("type", "?"))
        payload = record.get("payload") if isinstance(record.get("payload"), dict) else None
        when = parse_time(record.get("timestamp")) or last_time
        last_time = when
        if when:
            session.created_at = session.created_at or when
            session.updated_at = max(session.updated_at, when)
        if kind == "session_meta" and payload is not None:
            session.source_id = str(payload.get("id") or session.source_id)
            session.cwd = str(payload.get("cwd") or session.cwd)
            session.created_at = parse_time(payload.get("timestamp")) or session.created_at
            session.raw.append(RawRecord(number, "session_meta", raw))
            continue
        if kind == "turn_context" and payload is not None:
            if isinstance(payload.get("model"), str) and not session.model:
                session.model = f"openai/{payload['model']}"
            session.cwd = session.cwd or str(payload.get("cwd") or "")
            session.raw.append(RawRecord(number, "turn_context", raw))
            continue
        item = payload if kind == "response_item" and payload is not None else None
        if item is None and kind in ("message", "function_call", "function_call_output"):
            item = record  # the older layout: items at the top level
        if item is None:
            session.raw.append(RawRecord(number, kind, raw))
            continue
        current = _item(session, number, when, item, raw, calls, current)
    if not session.title:
        session.title = next(
            (
                p.content.splitlines()[0][:80]
                for m in session.messages
                if m.role == "user"
                for p in m.parts
                if p.content.strip()
            ),
            "",
        )
    return [session] if session.messages or session.raw else []


def _item(
    session: ImportedSession,
    number: int,
    when: float,
    item: dict[str, Any],
    raw: str,
    calls: dict[str, tuple[ImportedMessage, ImportedPart]],
    current: ImportedMessage | None,
) -> ImportedMessage | None:
    itype = str(item.get("type", "?"))
    key = f"line{number}"
    if itype == "message":
        role = item.get("role")
        texts = [
            b["text"]
            for b in item.get("content") or []
            if isinstance(b, dict) and isinstance(b.get("text"), str)
        ]
        text = "\n".join(texts)
        if role == "user" and text.lstrip().startswith(_INJECTED):
            session.raw.append(RawRecord(number, "response_item:injected_context", raw))
            return None
        if role not in ("user", "assistant") or not text:
            session.raw.append(RawRecord(number, f"response_item:message:{role}", raw))
            return current
        message = ImportedMessage(key, role, when, [ImportedPart("text", text)])
        if role == "assistant":
            message.model = session.model or None
        session.messages.append(message)
        return message if role == "assistant" else None
    if itype in ("function_call", "custom_tool_call", "local_shell_call"):
        call_id = str(item.get("call_id") or item.get("id") or key)
        args = item.get("arguments") if itype == "function_call" else None
        if args is None:
            args = json.dumps(item.get("input") or item.get("action") or {}, ensure_ascii=False)
        name = str(item.get("name") or ("shell" if itype == "local_shell_call" else "tool"))
        if current is None:
            current = ImportedMessage(key, "assistant", when, model=session.model or None)
            session.messages.append(current)
        part = ImportedPart(
            "tool_call",
            tool_name=name,
            tool_call_id=call_id,
            tool_args=str(args),
            status="pending",
        )
        current.parts.append(part)
        current.finish = "tool_calls"
        calls[call_id] = (current, part)
        return current
    if itype in ("function_call_output", "custom_tool_call_output"):
        call_id = str(item.get("call_id") or "")
        if call_id not in calls:
            session.raw.append(RawRecord(number, f"response_item:{itype}:orphan", raw))
            return current
        owner, call = calls[call_id]
        output, error = _output(item.get("output"))
        call.status = "error" if error else "completed"
        owner.parts.append(
            ImportedPart(
                "tool_result",
                output,
                tool_name=call.tool_name,
                tool_call_id=call_id,
                status=call.status,
            )
        )
        return current
    if itype == "reasoning":
        summary = [
            b["text"]
            for b in item.get("summary") or []
            if isinstance(b, dict) and isinstance(b.get("text"), str)
        ]
        if summary:
            message = ImportedMessage(key, "assistant", when, model=session.model or None)
            message.parts.append(ImportedPart("reasoning", "\n".join(summary)))
            session.messages.append(message)
            return message
    session.raw.append(RawRecord(number, f"response_item:{itype}", raw))
    return current


def _output(value: Any) -> tuple[str, bool]:
    """A function_call_output's text and whether it failed (exit code or success flag)."""
    if isinstance(value, str):
        try:
            inner = json.loads(value)
        except json.JSONDecodeError:
            return value, False
        if isinstance(inner, dict) and "output" in inner:
            meta = as_dict(inner.get("metadata"))
            failed = bool(meta.get("exit_code")) or inner.get("success") is False
            return as_text(inner["output"]), failed
        return value, False
    if isinstance(value, dict):
        return as_text(value.get("content") or value), value.get("success") is False
    return as_text(value), False
