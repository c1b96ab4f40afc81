"""The shared git runner (``opencode.sessions.git``) against real git and real hung processes:
its error mapping, its time limit, and that a timeout or a cancellation kills git's whole
process group while the event loop keeps running."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from opencode.sessions import git
from tests.sync.conftest import commit, write


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it is dead for our purpose
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return False


def _wait_dead(pid: int, limit_s: float = 5.0) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.02)
    return False


async def _until(condition: Callable[[], bool], limit_s: float = 10.0) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.01)


def _fake_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    """A `git` first on PATH that runs ``body`` (a real process that misbehaves on demand)."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "git"
    fake.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


async def test_stdout_of_a_real_repository(source_repo: Path) -> None:
    head = (await git.git(source_repo, "rev-parse", "HEAD")).strip()
    assert len(head) == 40
    result = await git.run_git(source_repo, "cat-file", "-e", "0" * 40, check=False)
    assert not result.ok and result.returncode != 0


async def test_stdin_is_closed(source_repo: Path) -> None:
    # Our stdin is a pipe nobody writes to or closes (like a terminal nobody types in):
    # `hash-object --stdin` reads to EOF, so git must get a closed stdin, not ours.
    read_end, write_end = os.pipe()
    saved = os.dup(0)
    os.dup2(read_end, 0)
    try:
        out = await git.git(source_repo, "hash-object", "--stdin", limit_s=5)
    finally:
        os.dup2(saved, 0)
        for fd in (saved, read_end, write_end):
            os.close(fd)
    assert out.strip() == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # the empty blob


async def test_not_a_repository_names_command_and_folder(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(git.NotARepository) as caught:
        await git.git(plain, "rev-parse", "HEAD")
    message = str(caught.value)
    assert "git rev-parse HEAD" in message and str(plain) in message
    assert "is not inside a git repository" in message
    with pytest.raises(git.NotARepository, match=r"folder .*missing does not exist"):
        await git.git(tmp_path / "missing", "status")


async def test_failure_carries_exit_code_and_stderr(source_repo: Path) -> None:
    with pytest.raises(git.GitFailed) as caught:
        await git.git(source_repo, "rev-parse", "--verify", "no-such-branch")
    assert caught.value.returncode == 128
    assert "git rev-parse --verify no-such-branch failed in" in str(caught.value)
    assert "fatal" in str(caught.value) and str(source_repo) in str(caught.value)


async def test_missing_git_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "nobin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(git.GitNotFound, match=r"git is not installed or not on PATH.*git status"):
        await git.git(tmp_path, "status")


async def test_timeout_kills_the_process_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # git that started a helper (a hook, a credential helper) and hangs with it
    pidfile = tmp_path / "helper.pid"
    _fake_git(tmp_path, monkeypatch, f"sleep 30 &\necho $! > {pidfile}\nwait")
    monkeypatch.setattr(git, "GIT_TIMEOUT_S", 0.3)
    with pytest.raises(git.GitTimeout) as caught:
        await git.git(tmp_path, "fetch", "origin")
    assert f"git fetch origin in {tmp_path} did not finish within 0.3 s" in str(caught.value)
    assert _wait_dead(int(pidfile.read_text()))
    # a per-call limit wins over the constant
    with pytest.raises(git.GitTimeout, match=r"within 0.2 s"):
        await git.git(tmp_path, "fetch", limit_s=0.2)


async def test_cancellation_kills_git_and_the_loop_keeps_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pidfile = tmp_path / "git.pid"
    _fake_git(tmp_path, monkeypatch, f"echo $$ > {pidfile}\nexec sleep 30")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    tick_task = asyncio.create_task(ticker())
    task = asyncio.create_task(git.git(tmp_path, "log"))
    await _until(lambda: pidfile.exists() and bool(pidfile.read_text().strip()))
    ticks_before = ticks
    await asyncio.sleep(0.2)
    # the loop ran while git hung (a blocking subprocess.run would freeze it)
    assert ticks > ticks_before
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    tick_task.cancel()
    assert _wait_dead(int(pidfile.read_text()))


async def test_paths_with_unicode_come_back_decoded(source_repo: Path) -> None:
    write(source_repo / "docs/über.md", "x\n")
    commit(source_repo, "umlaut")
    out = await git.git(source_repo, "-c", "core.quotepath=off", "ls-files", "docs")
    assert "docs/über.md" in out.splitlines()
