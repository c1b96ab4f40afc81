"""A sync run's owner is its pid and its process start (``sessions/process_owner.py``): a live
process that reuses the pid of a sync that died does not hide the interrupted run. Real SQLite
store, a real live process standing for the reused pid."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from opencode.commands.registry import CommandContext
from opencode.commands.target.repo import TargetRepo
from opencode.sessions.process_owner import own_start, process_start
from tests.sync.conftest import call


@pytest.fixture
def live_stranger() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is not the run's owner: what a reused pid points at."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


async def _running_run(ctx: CommandContext, target: Path) -> tuple[TargetRepo, int, int]:
    added = await call(
        ctx, "target", "add", "web", "--path", str(target), "--type", "source",
        "--test-command", "true",
    )  # fmt: skip
    assert added.exit_code == 0, added.text
    repo = TargetRepo(ctx.store)
    web = await repo.get("web")
    assert web is not None
    return repo, web.id, await repo.start_sync_run(web.id, "full", "abc", None)


async def _set_owner(ctx: CommandContext, run_id: int, pid: int, start: str | None) -> None:
    await ctx.store.execute(
        "UPDATE sync_run SET pid = ?, owner_start = ?, step = 'docs' WHERE id = ?",
        (pid, start, run_id),
    )


async def test_a_sync_run_stores_its_owners_start(ctx: CommandContext, target_dir: Path) -> None:
    repo, target_id, run_id = await _running_run(ctx, target_dir)
    row = await ctx.store.fetchone("SELECT owner_start FROM sync_run WHERE id = ?", (run_id,))
    assert row is not None and row["owner_start"] == own_start()
    assert await repo.interrupted_run(target_id) is None  # this process owns it


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
async def test_a_reused_pid_does_not_hide_an_interrupted_sync(
    ctx: CommandContext, target_dir: Path, live_stranger: subprocess.Popen[bytes]
) -> None:
    repo, target_id, run_id = await _running_run(ctx, target_dir)
    await _set_owner(ctx, run_id, live_stranger.pid, "an-earlier-boot:12345")

    interrupted = await repo.interrupted_run(target_id)
    assert interrupted is not None and interrupted["id"] == run_id
    entry = (await call(ctx, "sync", "status")).data["targets"][0]
    assert entry["status"] == "failed" and "interrupted at docs" in entry["status_reason"]
    assert live_stranger.poll() is None  # nothing told the stranger to stop


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
async def test_the_same_pid_and_start_still_owns_the_sync(
    ctx: CommandContext, target_dir: Path, live_stranger: subprocess.Popen[bytes]
) -> None:
    repo, target_id, run_id = await _running_run(ctx, target_dir)
    start = process_start(live_stranger.pid)
    assert start is not None
    await _set_owner(ctx, run_id, live_stranger.pid, start)
    assert await repo.interrupted_run(target_id) is None
    await _set_owner(ctx, run_id, live_stranger.pid, None)  # a row from before 0019
    assert await repo.interrupted_run(target_id) is None  # the pid alone decides, as before
