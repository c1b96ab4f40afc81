"""Workflow runs and steps in SQLite (``workflow_run``, ``workflow_step``).

A run's rows are written as it goes, so a killed process leaves a run that ``resume`` can
continue: steps that finished ``ok`` are kept, everything else runs again. ``claim`` hands a
run to one resuming process only (``owner`` tells a live owner from a reused pid).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opencode.sessions.process_owner import own_start, owner_alive

if TYPE_CHECKING:
    from opencode.sessions.store.db import Store
    from opencode.sessions.workflows.spec import WorkflowSpec

MAX_OUTPUT_CHARS = 64_000


@dataclass(frozen=True, slots=True)
class Claim:
    """What ``WorkflowRepo.claim`` found: ``won`` (this process now owns the run), else the
    run's stored status and the pid that holds it (``running``) or why not (``ok``)."""

    won: bool
    status: str
    pid: int | None = None


def clip(text: str) -> str:
    """The end of a long output (where errors are), marked as cut."""
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    return f"[... {len(text) - MAX_OUTPUT_CHARS} characters cut ...]\n" + text[-MAX_OUTPUT_CHARS:]


class WorkflowRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, spec: WorkflowSpec, cwd: str) -> int:
        now = time.time()
        async with self.store.transaction():
            run_id = await self.store.execute(
                "INSERT INTO workflow_run (name, source, spec_sha256, status, cwd, pid, "
                "owner_start, started_at) VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
                (spec.name, str(spec.source), spec.sha256, cwd, os.getpid(), own_start(), now),
            )
            await self.store.executemany(
                "INSERT INTO workflow_step (run_id, name, kind, status) "
                "VALUES (?, ?, ?, 'pending')",
                [(run_id, step.name, step.kind) for step in spec.steps.values()],
            )
        return run_id

    async def claim(self, run_id: int) -> Claim:
        """Make this process the run's owner, unless it finished ``ok`` or a live process
        owns it already (this one included: the TUI can resume twice). One write
        transaction reads and claims, and the UPDATE only matches the row as read, so two
        resumers started together cannot both win. Unfinished steps go back to pending."""
        async with self.store.transaction():
            row = await self.store.fetchone(
                "SELECT status, pid, owner_start FROM workflow_run WHERE id = ?", (run_id,)
            )
            if row is None:
                return Claim(False, "missing")
            status, pid, start = row["status"], row["pid"], row["owner_start"]
            if status == "ok":
                return Claim(False, "ok", pid)
            if status == "running" and owner_alive(pid, start):
                return Claim(False, "running", pid)
            changed = await self.store.execute(
                "UPDATE workflow_run SET status = 'running', pid = ?, owner_start = ?, "
                "finished_at = NULL, error = '' WHERE id = ? AND status = ? AND pid IS ? "
                "AND owner_start IS ?",
                (os.getpid(), own_start(), run_id, status, pid, start),
            )
            if changed != 1:
                return Claim(False, "running", pid)
            await self.store.execute(
                "UPDATE workflow_step SET status = 'pending' WHERE run_id = ? AND status != 'ok'",
                (run_id,),
            )
        return Claim(True, "running", os.getpid())

    async def step_started(self, run_id: int, name: str, attempt: int) -> None:
        await self.store.execute(
            "UPDATE workflow_step SET status = 'running', attempts = ?, started_at = ?, "
            "finished_at = NULL, error = '' WHERE run_id = ? AND name = ?",
            (attempt, time.time(), run_id, name),
        )

    async def step_finished(
        self,
        run_id: int,
        name: str,
        status: str,
        *,
        output: str = "",
        error: str = "",
        session_id: str | None = None,
    ) -> None:
        await self.store.execute(
            "UPDATE workflow_step SET status = ?, output = ?, error = ?, "
            "session_id = COALESCE(?, session_id), finished_at = ? WHERE run_id = ? AND name = ?",
            (status, clip(output), clip(error), session_id, time.time(), run_id, name),
        )

    async def set_status(self, run_id: int, name: str, status: str, error: str = "") -> None:
        await self.store.execute(
            "UPDATE workflow_step SET status = ?, error = ? WHERE run_id = ? AND name = ?",
            (status, error, run_id, name),
        )

    async def run_finished(self, run_id: int, status: str, error: str = "") -> None:
        await self.store.execute(
            "UPDATE workflow_run SET status = ?, finished_at = ?, error = ? WHERE id = ?",
            (status, time.time(), error, run_id),
        )

    async def run(self, run_id: int) -> dict[str, Any] | None:
        row = await self.store.fetchone("SELECT * FROM workflow_run WHERE id = ?", (run_id,))
        if row is None:
            return None
        run = _run_dict(row)
        steps = await self.store.fetchall(
            "SELECT * FROM workflow_step WHERE run_id = ? ORDER BY id", (run_id,)
        )
        run["steps"] = [dict(step) for step in steps]
        return run

    async def runs(self, *, limit: int = 50) -> list[dict[str, Any]]:
        rows = await self.store.fetchall(
            "SELECT r.*, "
            "(SELECT COUNT(*) FROM workflow_step s WHERE s.run_id = r.id AND s.status = 'ok') "
            "AS steps_ok, "
            "(SELECT COUNT(*) FROM workflow_step s WHERE s.run_id = r.id) AS steps "
            "FROM workflow_run r ORDER BY r.id DESC LIMIT ?",
            (limit,),
        )
        return [_run_dict(row) for row in rows]

    async def latest_unfinished(self, source: str) -> int | None:
        row = await self.store.fetchone(
            "SELECT id FROM workflow_run WHERE source = ? AND status != 'ok' "
            "ORDER BY id DESC LIMIT 1",
            (source,),
        )
        return int(row["id"]) if row else None


def _run_dict(row: Any) -> dict[str, Any]:
    run = dict(row)
    # A run left 'running' by a process that is gone (kill -9, a crash; its pid maybe taken
    # by another process since) was interrupted.
    if run["status"] == "running" and not owner_alive(run.get("pid"), run.get("owner_start")):
        run["status"] = "interrupted"
    return run
