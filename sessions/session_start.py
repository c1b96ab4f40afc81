"""Starting or resuming a session, and the error a turn raises when it cannot start.

A new session's record is kept by the runner until its first message (the store writes the
row then, so a session nobody spoke in never becomes one). Resuming closes what an earlier run
left unfinished (``UnfinishedInterrupted``), restores the session's permission grants, and
fires ``SessionStart``, whose context joins the session's system prompt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opencode.sessions.events import (
    SessionCreated,
    SessionStarted,
    SessionTitled,
    UnfinishedInterrupted,
)
from opencode.sessions.session_hooks import hook_problems
from opencode.sessions.store.sessions import SessionRecord, new_record

if TYPE_CHECKING:
    from opencode.sessions.runner import Runner


class RunnerError(Exception):
    """The turn could not start (unknown session, bad model); the message says what to do."""


async def start_session(
    runner: Runner,
    *,
    session_id: str | None,
    continue_latest: bool,
    title: str | None,
    model: str | None,
    parent_id: str | None,
    parent_call_id: str | None,
) -> SessionRecord:
    """See ``Runner.start_session``."""
    record: SessionRecord | None = None
    if session_id:
        record = await runner.repo.get(session_id)
        if record is None:
            raise RunnerError(
                f"no session {session_id!r} in {runner.store.path}; "
                "list them with `opencode session list`"
            )
    elif continue_latest:
        record = await runner.repo.latest(runner.cwd)
        if record is None:
            raise RunnerError(
                f"no earlier session in {runner.cwd} to continue; drop -c to start one"
            )
    resumed = record is not None
    bus = runner.bus
    if record is None:
        ref = model or runner.config.model
        runner.config.resolve_model(ref)  # fail before creating anything
        record = new_record(runner.cwd, ref, title or "", parent_id)
        runner.unsaved(record)
        await bus.emit(SessionCreated(record.id, record.cwd, record.model, record.title, parent_id))
    else:
        await bus.emit(UnfinishedInterrupted(record.id))
        for tool, subject in await runner.repo.session_grants(record.id):
            runner.permissions.grant_session(tool, subject)
        if title:
            record.title = title
            await bus.emit(SessionTitled(record.id, title))
    await bus.emit(
        SessionStarted(
            session_id=record.id,
            title=record.title,
            model=model or record.model,
            cwd=record.cwd,
            resumed=resumed,
            parent_id=record.parent_id,
            parent_call_id=parent_call_id,
        )
    )
    # --- hooks: SessionStart (its context joins this session's system prompt)
    started = await runner.hooks.fire(
        "SessionStart", record.id, source="resume" if resumed else "startup"
    )
    await hook_problems(bus, record.id, started.problems)
    runner.hook_context[record.id] = started.context
    return record
