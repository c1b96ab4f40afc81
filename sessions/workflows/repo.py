"""Workflow runs and steps in SQLite (``workflow_run``, ``workflow_step``).

A run's rows are written as it goes, so a killed process leaves a run that ``resume`` can
continue: steps that finished ``ok`` are kept, everything else runs again.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opencode.sessions.store.db import Store
    from opencode.sessions.workflows.spec import WorkflowSpec

MAX_OUTPUT_CHARS = 64_000


def clip(text: str) -> str:
    """The end of a long output (where errors are), marked as cut."""
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    return f"[... {len(text) - MAX_OUTPUT_CHARS} characters cut ...]\n" + text[-MAX_OUTPUT_CHARS:]


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WorkflowRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, spec: WorkflowSpec, cwd: str) -> int:
        now = time.time()
        async with self.store.transaction():
            run_id = await self.store.execute(
                "INSERT INTO workflow_run (name, source, spec_sha256, status, cwd, pid, "
                "started_at) VALUES (?, ?, ?, 'running', ?, ?, ?)",
                (spec.name, str(spec.source), spec.sha256, cwd, os.getpid(), now),
            )
            await self.store.executemany(
                "INSERT INTO workflow_step (run_id, name, kind, status) "
                "VALUES (?, ?, ?, 'pending')",
                [(run_id, step.name, step.kind) for step in spec.steps.values()],
            )
        return run_id

    async def reopen(self, run_id: int) -> None:
        """Mark a run running again in this process; unfinished steps go back to pending."""
        async with self.store.transaction():
            await self.store.execute(
                "UPDATE workflow_run SET status = 'running', pid = ?, finished_at = NULL, "
                "error = '' WHERE id = ?",
                (os.getpid(), run_id),
            )
            await self.store.execute(
                "UPDATE workflow_step SET status = 'pending' WHERE run_id = ? AND status != 'ok'",
                (run_id,),
            )

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
    # A run left 'running' by a process that is gone (kill -9, a crash) was interrupted.
    if (
        run["status"] == "running"
        and run.get("pid") != os.getpid()
        and not pid_alive(run.get("pid"))
    ):
        run["status"] = "interrupted"
    return run
