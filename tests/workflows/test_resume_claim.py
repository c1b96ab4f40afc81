"""Resuming a run is claimed by one process only, and a reused pid is not its owner (review L2).

Real SQLite files, real ``opencode workflow resume`` subprocesses started together, a real live
process standing for the reused pid. Steps append to files, so the side effects are counted.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from opencode.sessions.process_owner import own_start, owner_alive, process_start
from opencode.sessions.store.db import Store
from opencode.sessions.workflows.repo import WorkflowRepo
from opencode.sessions.workflows.spec import parse_workflow
from tests.engine.helpers import db_path, opencode, query, spawn

FLOW = (
    'allow = ["bash"]\nmax_parallel = 1\n'
    # Fails on the first run only, so that run 1 is left 'failed' with work to resume.
    '[steps.first]\nshell = "echo x >> first.count; test -f first.ok || { touch first.ok; '
    'exit 1; }"\n'
    '[steps.second]\nneeds = ["first"]\nshell = "echo x >> second.count"\n'
)


def _failed_run(project: Path) -> None:
    (project / "flow.toml").write_text(FLOW, encoding="utf-8")
    first = opencode(project, "workflow", "run", "flow.toml")
    assert first.code == 1, first.stderr
    assert (project / "first.count").read_text() == "x\n"
    assert not (project / "second.count").exists()


def _set_owner(pid: int, start: str | None) -> None:
    import sqlite3

    conn = sqlite3.connect(db_path())
    try:
        conn.execute(
            "UPDATE workflow_run SET status = 'running', pid = ?, owner_start = ? WHERE id = 1",
            (pid, start),
        )
        conn.commit()
    finally:
        conn.close()


@pytest.fixture
def live_stranger() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is not the run's owner: what a reused pid points at."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def test_two_resumes_started_together_run_the_pending_steps_once(tmp_path: Path) -> None:
    _failed_run(tmp_path)
    procs = [spawn(tmp_path, "workflow", "resume", "1") for _ in range(3)]
    outcomes: list[tuple[int, str]] = []
    for proc in procs:
        _, raw = proc.communicate(timeout=120)
        outcomes.append((proc.returncode, raw.decode()))
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 1, 1], outcomes
    for code, err in outcomes:
        if code == 1:
            # Lost the claim, or came after the winner had it (or had finished).
            assert (
                "was resumed by another process" in err
                or "is still running in process" in err
                or "already finished ok" in err
            ), err
            assert "Traceback" not in err
    # The pending steps ran once: first twice in all (the failed try + the resume), second once.
    assert (tmp_path / "first.count").read_text() == "x\nx\n"
    assert (tmp_path / "second.count").read_text() == "x\n"
    assert query("SELECT status FROM workflow_run")[0]["status"] == "ok"


async def test_claims_racing_on_two_connections_one_wins(tmp_path: Path) -> None:
    spec = parse_workflow('[steps.a]\nshell = "a"\n', Path("p.toml"))
    stores = [await Store.open(tmp_path / "wf.db") for _ in range(4)]
    try:
        repos = [WorkflowRepo(store) for store in stores]
        run_id = await repos[0].create(spec, "/")
        await repos[0].run_finished(run_id, "failed", "a failed")
        # Each has seen the run failed before any claims it: the check-then-act window.
        seen = [await repo.run(run_id) for repo in repos]
        assert all(run is not None and run["status"] == "failed" for run in seen)
        claims = await asyncio.gather(*(repo.claim(run_id) for repo in repos))
        assert [c.won for c in claims].count(True) == 1, claims
        assert all(c.status == "running" for c in claims if not c.won)
        again = await repos[1].claim(run_id)  # this process owns it now: still not twice
        assert not again.won and again.status == "running"
        await repos[0].run_finished(run_id, "ok")
        assert (await repos[2].claim(run_id)).status == "ok"
    finally:
        for store in stores:
            await store.close()


def test_a_live_pid_with_another_start_is_not_the_owner(
    tmp_path: Path, live_stranger: subprocess.Popen[bytes]
) -> None:
    _failed_run(tmp_path)
    # The owner died; its pid now belongs to another live process (started at another time).
    _set_owner(live_stranger.pid, "an-earlier-boot:12345")
    status = opencode(tmp_path, "workflow", "status", "1", "--format", "json")
    assert json.loads(status.stdout)["status"] == "interrupted", status.stdout
    resumed = opencode(tmp_path, "workflow", "resume", "1")
    assert resumed.code == 0, resumed.stderr
    assert (tmp_path / "second.count").read_text() == "x\n"
    assert live_stranger.poll() is None  # nothing told the stranger to stop


def test_the_same_pid_and_start_is_still_the_owner(
    tmp_path: Path, live_stranger: subprocess.Popen[bytes]
) -> None:
    start = process_start(live_stranger.pid)
    if start is None:
        pytest.skip("no /proc here: only the pid is compared")
    _failed_run(tmp_path)
    _set_owner(live_stranger.pid, start)
    resumed = opencode(tmp_path, "workflow", "resume", "1")
    assert resumed.code == 1
    assert f"still running in process {live_stranger.pid}" in resumed.stderr
    assert not (tmp_path / "second.count").exists()


def test_owner_start_reads_proc_and_tells_processes_apart(
    live_stranger: subprocess.Popen[bytes],
) -> None:
    import os

    mine = own_start()
    if mine is None:
        pytest.skip("no /proc here")
    assert owner_alive(os.getpid(), mine)
    assert process_start(live_stranger.pid) not in (None, mine)
    assert not owner_alive(live_stranger.pid, mine)
    assert owner_alive(live_stranger.pid, None)  # rows from before 0015: the pid decides
    live_stranger.kill()
    live_stranger.wait()
    assert not owner_alive(live_stranger.pid, None)
