"""A task cancelled while its child process is still being started leaves no process behind
(asyncio forks first, then awaits the pipes: a cancel there used to orphan the child)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from opencode.sessions.processes import kill_group, spawn

pytestmark = pytest.mark.fault


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def written(path: Path, within_s: float = 3.0) -> str:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.02)
    return ""


def wait_dead(pid: int, within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not alive(pid)


async def test_cancel_at_any_point_of_the_start_kills_the_child(tmp_path: Path) -> None:
    started: list[asyncio.subprocess.Process] = []
    for steps in range(6):  # cancel after 0..5 turns of the loop, across the whole start
        pid_file = tmp_path / f"pid{steps}"

        async def run(pid_file: Path = pid_file) -> None:
            proc = await spawn(
                lambda: asyncio.create_subprocess_shell(
                    f"echo $$ > {pid_file}; exec sleep 30",
                    stdout=asyncio.subprocess.PIPE,
                    start_new_session=True,
                )
            )
            started.append(proc)
            try:
                await proc.wait()
            except asyncio.CancelledError:  # what every caller does once it holds the process
                kill_group(proc)
                raise

        task = asyncio.create_task(run())
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        text = written(pid_file)
        if not text:
            continue  # cancelled before the fork, or killed before the shell wrote its pid
        assert wait_dead(int(text)), (
            f"a child started during cancellation (step {steps}) outlived it"
        )
    assert len(started) < 6  # some cancellation did land inside the start (the race tested)
