"""Stored messages replayed as the session events the live stream produces.

The transcript is built from events only (``TranscriptBuilder``); a stored ``MessageRecord`` is
turned back into the events the runner emitted while it streamed (message started, part started
with its whole content, part finished, tool started and finished, error, message finished), so
history and a live turn go through one code path. No Textual here: this is a pure conversion
that could live beside the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Literal, cast

from opencode.sessions.events import (
    ErrorOccurred,
    MessageFinished,
    MessageStarted,
    PartFinished,
    PartStarted,
    SessionEvent,
    ToolFinished,
    ToolStarted,
)

if TYPE_CHECKING:
    from opencode.sessions.store.sessions import MessageRecord, PartRecord

ToolStatus = Literal["completed", "error", "denied"]


def replay(messages: Iterable[MessageRecord]) -> Iterator[SessionEvent]:
    """The session events that rebuild ``messages`` (oldest first), in stream order.

    A tool call with no stored result is left open (started, never finished) if it was still
    running: the ``MessageFinished`` that follows closes it as interrupted, as it does live.
    """
    for message in messages:
        if message.role == "user":
            yield from _user(message)
        else:
            yield from _assistant(message)


def _user(message: MessageRecord) -> Iterator[SessionEvent]:
    sid = message.session_id
    part_id = message.parts[0].id if message.parts else f"{message.id}:text"
    yield MessageStarted(sid, message.id, "user")
    yield PartStarted(sid, message.id, part_id, 1, "text", message.text())
    # What the message attached (``@path`` reads, a ``!`` command): tool calls of its own.
    results = {p.tool_call_id: p for p in message.parts if p.kind == "tool_result"}
    for part in message.parts:
        if part.kind == "tool_call":
            yield from _tool(message, part, results.get(part.tool_call_id))
    yield MessageFinished(sid, message.id, message.finish or "stop")


def _assistant(message: MessageRecord) -> Iterator[SessionEvent]:
    sid = message.session_id
    yield MessageStarted(sid, message.id, "assistant", message.model)
    results = {p.tool_call_id: p for p in message.parts if p.kind == "tool_result"}
    for part in message.parts:
        if part.kind in ("text", "reasoning"):
            if not part.content:
                continue  # an empty part shows nothing, live or stored
            kind = cast(Literal["text", "reasoning"], part.kind)
            yield PartStarted(sid, message.id, part.id, part.seq, kind, part.content)
            yield PartFinished(sid, part.id, kind)
        elif part.kind == "tool_call":
            yield from _tool(message, part, results.get(part.tool_call_id))
        elif part.kind == "error":
            hint = part.metadata.get("hint")
            yield ErrorOccurred(
                sid, message.id, part.id, part.seq, part.content, hint if hint else None
            )
    finish = "interrupted" if message.interrupted else (message.finish or "stop")
    yield MessageFinished(sid, message.id, finish)


def _tool(message: MessageRecord, part: PartRecord, result: PartRecord | None) -> Iterator[Any]:
    sid = message.session_id
    try:
        args = json.loads(part.tool_args or "{}")
    except json.JSONDecodeError:
        args = {}  # a stored call with broken JSON still shows, with no arguments
    # Unique per part even when the provider gave no call id: the builder keys open calls by it.
    call_id = part.tool_call_id or part.id
    tool = part.tool_name or "?"
    yield ToolStarted(
        sid,
        message.id,
        part.id,
        part.seq,
        call_id,
        tool,
        args if isinstance(args, dict) else {},
        part.tool_args or "",
    )
    if result is None and part.status == "running":
        return
    duration = part.metadata.get("duration_ms")
    if duration is None and result is not None:
        duration = result.metadata.get("duration_ms")
    yield ToolFinished(
        sid,
        message.id,
        part.id,
        result.id if result is not None else part.id,
        result.seq if result is not None else part.seq,
        call_id,
        tool,
        cast(ToolStatus, result.status if result is not None else part.status),
        result.content if result is not None else "",
        duration if isinstance(duration, int) else 0,
        result.metadata if result is not None else {},
    )
