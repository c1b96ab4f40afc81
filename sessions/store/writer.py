"""Persists session events as they happen: the store's subscriber on the event bus.

Structural events (message/part start and finish, tool calls, errors) are written at once, in
order. Streamed text is buffered and written in batches: at part boundaries and on a short
timer (``flush_interval``), so a killed process loses at most that interval and leaves a
readable session whose open message has no ``finish`` (read back as interrupted).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from opencode.sessions.events import (
    ErrorOccurred,
    MessageFinished,
    MessageStarted,
    PartDelta,
    PartFinished,
    PartStarted,
    SessionEvent,
    ToolFinished,
    ToolStarted,
    TurnFinished,
)
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

    async def __call__(self, event: SessionEvent) -> None:
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
                    " finished_at = ? WHERE id = ?",
                    (
                        event.finish,
                        usage.input_tokens if usage else None,
                        usage.output_tokens if usage else None,
                        now,
                        event.message_id,
                    ),
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
