"""Persists session events as they happen: the store's subscriber on the event bus, and the
only writer of session, message and part rows (and of permission answers).

A new session (``SessionCreated``) is held in memory until its first message has a part; then
the session row, that message and that part are written in one transaction, so a process
killed before its first message leaves no empty session for ``-c`` or ``session list``.

Structural events (message/part start and finish, tool calls, errors) are written at once, in
order. Streamed text is buffered and written in batches: at part boundaries and on a short
timer (``flush_interval``), so a killed process loses at most that interval and leaves a
readable session whose open message has no ``finish`` (read back as interrupted).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any

from opencode.sessions.events import (
    ErrorOccurred,
    MessageFinished,
    MessagesRewound,
    MessageStarted,
    PartDelta,
    PartFinished,
    PartStarted,
    PermissionAnswered,
    SessionCreated,
    SessionEvent,
    SessionForked,
    SessionStarted,
    SessionTitled,
    TodosUpdated,
    ToolFinished,
    ToolOutputDelta,
    ToolStarted,
    TurnFinished,
    UnfinishedInterrupted,
)
from opencode.sessions.ids import new_id
from opencode.sessions.store.db import Store

DEFAULT_FLUSH_INTERVAL = 0.2


class StoreWriter:
    def __init__(self, store: Store, flush_interval: float = DEFAULT_FLUSH_INTERVAL) -> None:
        self.store = store
        self.flush_interval = flush_interval
        self._pending: dict[str, list[str]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._flush_task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._lock = asyncio.Lock()
        # Sessions with no row yet, and the first message of each (held until it has a part).
        self._unsaved: dict[str, SessionCreated] = {}
        self._held: dict[str, MessageStarted] = {}
        # The ``task`` call that started each unsaved subagent session (SessionStarted).
        self._parent_call: dict[str, str] = {}

    async def __call__(self, event: SessionEvent) -> None:
        if isinstance(event, ToolOutputDelta):
            # Live display only: the call's final output is stored by ToolFinished. Before the
            # failure check: a stored failure is raised in the turn, not in the relay's task.
            return
        if self._failure is not None:
            # A timed flush failed in the background: the text is still buffered; say so now,
            # in the turn, rather than losing it quietly.
            failure, self._failure = self._failure, None
            raise failure
        if isinstance(event, PartDelta):
            self._pending.setdefault(event.part_id, []).append(event.text)
            if self._timer is None:
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(self.flush_interval, self._on_timer)
            return
        await self._write(event)

    def _on_timer(self) -> None:
        self._timer = None
        self._flush_task = asyncio.ensure_future(self.flush())
        self._flush_task.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._failure = task.exception()

    async def flush(self) -> None:
        """Write all buffered text now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        async with self._lock:
            await self._flush_locked()

    async def _flush_locked(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        now = time.time()
        try:
            await self.store.executemany(
                "UPDATE part SET content = content || ?, updated_at = ? WHERE id = ?",
                [("".join(chunks), now, part_id) for part_id, chunks in pending.items()],
            )
        except BaseException:
            # Keep the text (ahead of anything that arrived meanwhile) for the next flush.
            for part_id, chunks in self._pending.items():
                pending.setdefault(part_id, []).extend(chunks)
            self._pending = pending
            raise

    async def _write(self, event: SessionEvent) -> None:
        now = time.time()
        async with self._lock:
            await self._flush_locked()
            if isinstance(event, SessionCreated):
                # A copy: a later title must not change the event other subscribers saw.
                self._unsaved[event.session_id] = dataclasses.replace(event)
            elif event.session_id in self._unsaved:
                await self._write_unsaved(event, now)
            else:
                await self._apply(event, now)

    async def _write_unsaved(self, event: SessionEvent, now: float) -> None:
        """An event of a session whose row is not written yet: hold what has no content,
        write the session, its held first message and this event together otherwise."""
        session_id = event.session_id
        created = self._unsaved[session_id]
        if isinstance(event, SessionTitled):
            created.title = event.title
            return
        if isinstance(event, SessionStarted) and event.parent_call_id:
            self._parent_call[session_id] = event.parent_call_id
            return
        if isinstance(event, MessageStarted) and session_id not in self._held:
            self._held[session_id] = event
            return
        writes_content = isinstance(
            event,
            MessageStarted
            | PartStarted
            | ToolStarted
            | ToolFinished
            | MessageFinished
            | PermissionAnswered
            | TodosUpdated,
        ) or (isinstance(event, ErrorOccurred) and event.message_id is not None)
        if not writes_content:
            return  # e.g. SessionStarted, TurnFinished: no row of this session to update yet
        held = self._held.get(session_id)
        async with self.store.transaction():
            await self.store.execute(
                "INSERT INTO session (id, parent_id, parent_call_id, title, cwd, model,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    created.parent_id,
                    self._parent_call.get(session_id),
                    created.title,
                    created.cwd,
                    created.model,
                    now,
                    now,
                ),
            )
            if held is not None:
                await self._apply(held, now)
            await self._apply(event, now)
        del self._unsaved[session_id]
        self._held.pop(session_id, None)
        self._parent_call.pop(session_id, None)

    async def _apply(self, event: SessionEvent, now: float) -> None:
        """Write one event of a session whose row exists (inside the writer's lock)."""
        store = self.store
        if isinstance(event, MessageStarted):
            await store.execute(
                "INSERT INTO message (id, session_id, role, model, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (event.message_id, event.session_id, event.role, event.model, now),
            )
            await store.execute(
                "UPDATE session SET updated_at = ? WHERE id = ?", (now, event.session_id)
            )
        elif isinstance(event, PartStarted):
            streaming = event.kind in ("text", "reasoning")
            await store.execute(
                "INSERT INTO part (id, message_id, session_id, seq, kind, content, tool_name,"
                " tool_call_id, status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.part_id,
                    event.message_id,
                    event.session_id,
                    event.seq,
                    event.kind,
                    event.content,
                    event.tool_name,
                    event.tool_call_id,
                    "streaming" if streaming else "done",
                    now,
                    now,
                ),
            )
        elif isinstance(event, PartFinished):
            await store.execute(
                "UPDATE part SET status = 'done', updated_at = ?"
                " WHERE id = ? AND status = 'streaming'",
                (now, event.part_id),
            )
        elif isinstance(event, ToolStarted):
            await store.execute(
                "INSERT INTO part (id, message_id, session_id, seq, kind, tool_name,"
                " tool_call_id, tool_args, status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'tool_call', ?, ?, ?, 'running', ?, ?)",
                (
                    event.part_id,
                    event.message_id,
                    event.session_id,
                    event.seq,
                    event.tool,
                    event.call_id,
                    event.raw_arguments,
                    now,
                    now,
                ),
            )
        elif isinstance(event, ToolFinished):
            meta: dict[str, Any] = {"duration_ms": event.duration_ms}
            await store.execute(
                "UPDATE part SET status = ?, metadata = ?, updated_at = ? WHERE id = ?",
                (event.status, json.dumps(meta), now, event.part_id),
            )
            await store.execute(
                "INSERT INTO part (id, message_id, session_id, seq, kind, content, tool_name,"
                " tool_call_id, status, metadata, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'tool_result', ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.result_part_id,
                    event.message_id,
                    event.session_id,
                    event.seq,
                    event.output,
                    event.tool,
                    event.call_id,
                    event.status,
                    json.dumps({**event.metadata, **meta}, default=str),
                    now,
                    now,
                ),
            )
        elif isinstance(event, ErrorOccurred) and event.message_id is not None:
            await store.execute(
                "INSERT INTO part (id, message_id, session_id, seq, kind, content, status,"
                " metadata, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'error', ?, 'done', ?, ?, ?)",
                (
                    event.part_id,
                    event.message_id,
                    event.session_id,
                    event.seq,
                    event.message,
                    json.dumps({"hint": event.hint}),
                    now,
                    now,
                ),
            )
        elif isinstance(event, MessageFinished):
            usage = event.usage
            status = "interrupted" if event.finish == "interrupted" else "done"
            await store.execute(
                "UPDATE part SET status = ?, updated_at = ?"
                " WHERE message_id = ? AND status IN ('streaming', 'running')",
                (status, now, event.message_id),
            )
            await store.execute(
                "UPDATE message SET finish = ?, input_tokens = ?, output_tokens = ?,"
                " finished_at = ?, cost = ?, model = COALESCE(?, model) WHERE id = ?",
                (
                    event.finish,
                    usage.input_tokens if usage else None,
                    usage.output_tokens if usage else None,
                    now,
                    event.cost,
                    event.model,  # a fallback answered: the message names it
                    event.message_id,
                ),
            )
            if event.cost:
                await store.execute(
                    "UPDATE session SET cost = cost + ? WHERE id = ?",
                    (event.cost, event.session_id),
                )
            if usage:
                await store.execute(
                    "UPDATE session SET input_tokens = input_tokens + ?,"
                    " output_tokens = output_tokens + ?, updated_at = ? WHERE id = ?",
                    (usage.input_tokens, usage.output_tokens, now, event.session_id),
                )
        elif isinstance(event, TurnFinished):
            await store.execute(
                "UPDATE session SET updated_at = ? WHERE id = ?", (now, event.session_id)
            )
        elif isinstance(event, SessionTitled):
            await store.execute(
                "UPDATE session SET title = ?, updated_at = ? WHERE id = ?",
                (event.title, now, event.session_id),
            )
        elif isinstance(event, UnfinishedInterrupted):
            async with store.transaction():
                await store.execute(
                    "UPDATE message SET finish = 'interrupted', finished_at = ?"
                    " WHERE session_id = ? AND finish IS NULL",
                    (now, event.session_id),
                )
                await store.execute(
                    "UPDATE part SET status = 'interrupted', updated_at = ?"
                    " WHERE session_id = ? AND status IN ('streaming', 'running', 'pending')",
                    (now, event.session_id),
                )
        elif isinstance(event, PermissionAnswered):
            await store.execute(
                "INSERT INTO permission_decision"
                " (session_id, tool, subject, decision, created_at) VALUES (?, ?, ?, ?, ?)",
                (event.session_id, event.tool, event.subject, event.answer, now),
            )
        elif isinstance(event, MessagesRewound):
            await store.executemany(
                "UPDATE message SET rewound_at = ?"
                " WHERE session_id = ? AND id = ? AND rewound_at IS NULL",
                [(now, event.session_id, message_id) for message_id in event.message_ids],
            )
        elif isinstance(event, SessionForked):
            async with store.transaction():
                await self._fork(event, now)
        elif isinstance(event, TodosUpdated):
            from opencode.sessions.store.todos import replace_todos

            async with store.transaction():
                await replace_todos(store, event.session_id, event.todos, event.call_id)

    async def _fork(self, event: SessionForked, now: float) -> None:
        """Copy the source's visible messages (before ``until_message_id``), their parts and
        their file before-images under new ids, so the fork is a session like any other:
        every query by session id works on it, and deleting the source leaves it whole."""
        store = self.store
        await store.execute(
            "INSERT INTO session (id, parent_id, title, cwd, model, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event.session_id, event.source_id, event.title, event.cwd, event.model, now, now),
        )
        where, params = "session_id = ? AND rewound_at IS NULL", [event.source_id]
        if event.until_message_id is not None:
            where += " AND id < ?"
            params.append(event.until_message_id)
        messages = await store.fetchall(f"SELECT * FROM message WHERE {where} ORDER BY id", params)
        new_message: dict[str, str] = {}
        for row in messages:  # ids are made in order, so the copies sort as the originals
            new_message[row["id"]] = new_id("msg")
            await store.execute(
                "INSERT INTO message (id, session_id, role, model, finish, input_tokens,"
                " output_tokens, created_at, finished_at, cost)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new_message[row["id"]],
                    event.session_id,
                    row["role"],
                    row["model"],
                    row["finish"],
                    row["input_tokens"],
                    row["output_tokens"],
                    row["created_at"],
                    row["finished_at"],
                    row["cost"],
                ),
            )
        from opencode.sessions.store.todos import copy_todos

        await copy_todos(store, event.source_id, event.session_id)
        if not messages:
            return
        parts = await store.fetchall(
            "SELECT * FROM part WHERE session_id = ? AND message_id BETWEEN ? AND ?"
            " ORDER BY message_id, seq",
            (event.source_id, messages[0]["id"], messages[-1]["id"]),
        )
        new_part: dict[str, str] = {}
        for row in parts:
            message_id = new_message.get(row["message_id"])
            if message_id is None:
                continue
            new_part[row["id"]] = new_id("prt")
            await store.execute(
                "INSERT INTO part (id, message_id, session_id, seq, kind, content, tool_name,"
                " tool_call_id, tool_args, status, metadata, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new_part[row["id"]],
                    message_id,
                    event.session_id,
                    row["seq"],
                    row["kind"],
                    row["content"],
                    row["tool_name"],
                    row["tool_call_id"],
                    row["tool_args"],
                    row["status"],
                    row["metadata"],
                    row["created_at"],
                    row["updated_at"],
                ),
            )
        changes = await store.fetchall(
            "SELECT * FROM file_change WHERE session_id = ? AND rewound_at IS NULL ORDER BY id",
            (event.source_id,),
        )
        await store.executemany(
            "INSERT INTO file_change (session_id, call_id, path, existed, before, created_at,"
            " message_id, part_id, after_hash, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    event.session_id,
                    row["call_id"],
                    row["path"],
                    row["existed"],
                    row["before"],
                    row["created_at"],
                    new_message[row["message_id"]],
                    new_part.get(row["part_id"]),
                    row["after_hash"],
                    row["source"],
                )
                for row in changes
                if row["message_id"] in new_message
            ],
        )
