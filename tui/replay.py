"""Stored messages replayed as the session events the live stream produces.

The transcript is built from events only (``TranscriptBuilder``); a stored ``MessageRecord`` is
turned back into the events the runner emitted while it streamed (message started, part started
with its whole content, part finished, tool started and finished, error, message finished), so
history and a live turn go through one code path. No Textual here: this is a pure conversion
that could live beside the store.

A subagent (a child session run by a ``task`` call, named in the call's stored result) is
replayed inside that call, between its start and its end, as it streamed live: its
``SessionStarted`` with the parent's ids, its messages, its ``TurnFinished``. ``child_events``
reads those child sessions (and theirs, a few levels deep) from the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from opencode.sessions.events import (
    ErrorOccurred,
    MessageFinished,
    MessageStarted,
    PartFinished,
    PartStarted,
    SessionEvent,
    SessionStarted,
    ToolFinished,
    ToolStarted,
    TurnFinished,
    Usage,
)

if TYPE_CHECKING:
    from opencode.sessions.store.sessions import MessageRecord, PartRecord, SessionRecord

ToolStatus = Literal["completed", "error", "denied"]
Children = Mapping[str, Sequence[SessionEvent]]  # a task call's id -> its child's events

CHILD_MESSAGES = 40  # of a child session replayed (its view keeps a few hundred lines)
CHILD_DEPTH = 3  # subagents of subagents replayed this deep


class ChildSource(Protocol):
    """Where child sessions are read from (``SessionRepo``)."""

    async def get(self, session_id: str) -> SessionRecord | None: ...

    async def messages(
        self, session_id: str, *, limit: int | None = None
    ) -> list[MessageRecord]: ...

    async def children_of_call(self, parent_id: str, call_id: str) -> list[SessionRecord]: ...


def replay(
    messages: Iterable[MessageRecord], children: Children | None = None
) -> Iterator[SessionEvent]:
    """The session events that rebuild ``messages`` (oldest first), in stream order.

    A tool call with no stored result is left open (started, never finished) if it was still
    running: the ``MessageFinished`` that follows closes it as interrupted, as it does live.
    ``children`` (from ``child_events``) go inside their ``task`` call.
    """
    for message in messages:
        if message.role == "user":
            yield from _user(message)
        else:
            yield from _assistant(message, children or {})


def unfinished_task_calls(messages: Iterable[MessageRecord]) -> list[tuple[str, str]]:
    """Task calls with no stored result (interrupted while their subagent ran): (session id,
    call id) pairs, whose child only the store's ``parent_call_id`` names."""
    calls: list[tuple[str, str]] = []
    for message in messages:
        answered = {p.tool_call_id for p in message.parts if p.kind == "tool_result"}
        for part in message.parts:
            if part.kind == "tool_call" and part.tool_name == "task" and part.tool_call_id:
                if part.tool_call_id not in answered:
                    calls.append((message.session_id, part.tool_call_id))
    return calls


def child_links(messages: Iterable[MessageRecord]) -> dict[str, tuple[str, PartRecord]]:
    """Task calls whose stored result names the child session that ran them: call id ->
    (child session id, the result part)."""
    links: dict[str, tuple[str, PartRecord]] = {}
    for message in messages:
        results = {p.tool_call_id: p for p in message.parts if p.kind == "tool_result"}
        for part in message.parts:
            if part.kind != "tool_call" or part.tool_name != "task":
                continue
            result = results.get(part.tool_call_id)
            child = result.metadata.get("session_id") if result is not None else None
            if isinstance(child, str) and child and result is not None:
                links[part.tool_call_id or part.id] = (child, result)
    return links


async def child_events(
    source: ChildSource, messages: Sequence[MessageRecord], depth: int = 0
) -> dict[str, list[SessionEvent]]:
    """The replayed events of every subagent that ``messages`` ran, by task call id: what the
    live stream showed of it, its own subagents included (down to ``CHILD_DEPTH``). A child
    that is gone from the store (purged) is left out: its call still shows, as before. A task
    call interrupted before it stored a result finds its child by the parent call id the
    store kept; that child ends as interrupted."""
    found: dict[str, list[SessionEvent]] = {}
    for call_id, (child_id, result) in child_links(messages).items():
        record = await source.get(child_id)
        if record is None or record.id != child_id:
            continue
        finish = result.metadata.get("finish")
        if not isinstance(finish, str):
            finish = "error" if result.status == "error" else "stop"
        ended_badly = finish not in ("stop", "length", "interrupted")
        first_line = result.content.strip().splitlines()[0] if result.content.strip() else ""
        error = first_line[:200] if ended_badly and first_line else None
        found[call_id] = await _child(source, messages, record, call_id, finish, error, depth)
    for parent_id, call_id in unfinished_task_calls(messages):
        children = await source.children_of_call(parent_id, call_id)
        if children:  # one per call; the newest, should a call ever start two
            record = children[-1]
            found[call_id] = await _child(
                source, messages, record, call_id, "interrupted", None, depth
            )
    return found


async def _child(
    source: ChildSource,
    messages: Sequence[MessageRecord],
    record: SessionRecord,
    call_id: str,
    finish: str,
    error: str | None,
    depth: int,
) -> list[SessionEvent]:
    """One child session replayed as it streamed inside its task call."""
    stored = await source.messages(record.id, limit=CHILD_MESSAGES)
    nested = await child_events(source, stored, depth + 1) if depth + 1 < CHILD_DEPTH else {}
    events: list[SessionEvent] = [
        SessionStarted(
            record.id,
            record.title,
            record.model,
            record.cwd,
            True,
            parent_id=record.parent_id or messages[0].session_id,
            parent_call_id=call_id,
        )
    ]
    events.extend(replay(stored, nested))
    events.append(
        TurnFinished(
            record.id,
            finish,
            Usage(record.input_tokens, record.output_tokens),
            0,
            error=error,
        )
    )
    return events


def _user(message: MessageRecord) -> Iterator[SessionEvent]:
    sid = message.session_id
    part_id = message.parts[0].id if message.parts else f"{message.id}:text"
    yield MessageStarted(sid, message.id, "user")
    yield PartStarted(sid, message.id, part_id, 1, "text", message.text())
    # What the message attached (``@path`` reads, a ``!`` command): tool calls of its own.
    results = {p.tool_call_id: p for p in message.parts if p.kind == "tool_result"}
    for part in message.parts:
        if part.kind == "tool_call":
            yield from _tool(message, part, results.get(part.tool_call_id), {})
    yield MessageFinished(sid, message.id, message.finish or "stop")


def _assistant(message: MessageRecord, children: Children) -> Iterator[SessionEvent]:
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
            yield from _tool(message, part, results.get(part.tool_call_id), children)
        elif part.kind == "error":
            hint = part.metadata.get("hint")
            yield ErrorOccurred(
                sid, message.id, part.id, part.seq, part.content, hint if hint else None
            )
    finish = "interrupted" if message.interrupted else (message.finish or "stop")
    yield MessageFinished(sid, message.id, finish)


def _tool(
    message: MessageRecord, part: PartRecord, result: PartRecord | None, children: Children
) -> Iterator[Any]:
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
    yield from children.get(call_id, ())  # a subagent runs while its task call does
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
