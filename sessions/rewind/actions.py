"""Rewind and fork as one call each, for the CLI command and the TUI alike.

Session rows are written through events (``MessagesRewound``, ``SessionForked``, and the
``TodosUpdated`` that puts back the todo list a rewound conversation had): a running
engine passes its bus's ``emit``, so its own store subscriber writes them; a shell command
with no engine gets a ``StoreWriter`` of its own, which is the same subscriber.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from opencode.sessions.events import MessagesRewound, SessionEvent, SessionForked, TodosUpdated
from opencode.sessions.ids import new_id
from opencode.sessions.rewind.restore import (
    RewindError,
    RewindPlan,
    apply_files,
    mark_files_rewound,
    plan_rewind,
    resolve_target,
)
from opencode.sessions.store.db import Store
from opencode.sessions.store.sessions import SessionRecord, SessionRepo

Emit = Callable[[SessionEvent], Awaitable[None]]


def store_emitter(store: Store) -> Emit:
    """An ``emit`` for callers with no engine: the store's own subscriber, flushed."""
    from opencode.sessions.store.writer import StoreWriter

    writer = StoreWriter(store)

    async def emit(event: SessionEvent) -> None:
        await writer(event)
        await writer.flush()

    return emit


async def session_or_error(store: Store, session_id: str) -> SessionRecord:
    record = await SessionRepo(store).get(session_id)
    if record is None:
        raise RewindError(
            f"no session {session_id!r} in {store.path}; see `opencode session list --all`"
        )
    return record


async def rewind(
    store: Store,
    session_id: str,
    to: str,
    *,
    code: bool = True,
    chat: bool = True,
    force: bool = False,
    dry_run: bool = False,
    emit: Emit | None = None,
) -> tuple[SessionRecord, RewindPlan]:
    record = await session_or_error(store, session_id)
    target = await resolve_target(store, record.id, to)
    """Files first, then the conversation. With files skipped (changed since, a write that
    failed) and no ``force``, the conversation is left as it is and ``plan.chat_held`` says
    why: rewinding it too would drop the turns that explain the files still changed. With
    ``force`` it goes ahead and the summary says files were skipped."""
    plan = await plan_rewind(store, target, code=code, chat=chat, force=force)
    if not dry_run and code and plan.files:
        await asyncio.to_thread(apply_files, plan, Path(record.cwd))
        await mark_files_rewound(store, plan)
    if chat and plan.messages and plan.skipped and not force:
        count = len(plan.skipped)
        plan.chat_held = (
            f"{count} file{'s' if count != 1 else ''} "
            f"{'would be ' if dry_run else ''}skipped, so the "
            f"{len(plan.messages)} message(s) {'would ' if dry_run else ''}stay; fix the "
            "files (or rerun with --force), then rewind again"
        )
        plan.messages = []
    if dry_run:
        return record, plan
    if chat and plan.messages:
        emit = emit or store_emitter(store)
        await emit(MessagesRewound(record.id, plan.messages))
        await _restore_todos(store, record.id, emit)
    return record, plan


async def _restore_todos(store: Store, session_id: str, emit: Emit) -> None:
    """The todo list as the conversation left it at the rewind point: the last ``todowrite``
    still visible, or none. An event, so the store and a running TUI's panel both follow."""
    from opencode.sessions.store.todos import load_todos, visible_todos

    todos, call_id = await visible_todos(store, session_id)
    if todos != await load_todos(store, session_id):
        await emit(TodosUpdated(session_id, call_id, todos))


async def fork(
    store: Store, session_id: str, at: str | None = None, *, emit: Emit | None = None
) -> SessionRecord:
    """A new session (parent: the source) whose history is the source's up to just before
    ``at`` (a message or tool call; all of it when None)."""
    record = await session_or_error(store, session_id)
    until: str | None = None
    if at is not None:
        until = (await resolve_target(store, record.id, at)).message_id
        visible = await store.fetchone(
            "SELECT COUNT(*) FROM message WHERE session_id = ? AND id < ? AND rewound_at IS NULL",
            (record.id, until),
        )
        if visible is None or not visible[0]:
            raise RewindError(
                f"nothing comes before {at!r} in {record.id}: start a new session instead"
            )
    title = f"Fork of {record.title or record.id}"
    new = new_id("ses")
    emit = emit or store_emitter(store)
    await emit(SessionForked(new, record.id, until, title, record.cwd, record.model))
    if until is not None:  # a fork at a point has the list of that point, not the latest
        await _restore_todos(store, new, emit)
    forked = await SessionRepo(store).get(new)
    if forked is None:  # the writer writes it in one transaction; this would be a bug
        raise RewindError(f"the fork of {record.id} was not written")
    return forked
