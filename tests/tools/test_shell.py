"""bash: real subprocesses, process groups, caps, timeouts and cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import Any

import pytest

from opencode.sessions.config import SandboxConfig
from opencode.sessions.tools.base import ToolContext, ToolResult
from opencode.sessions.tools.registry import execute
from opencode.sessions.tools.shell import KEEP_BYTES, BashTool, _Capture, run_command


async def bash(ctx: ToolContext, command: str, **args: Any) -> ToolResult:
    return await execute(BashTool(), {"command": command, **args}, ctx)


def gone(pid: int, within_s: float = 10.0) -> bool:
    """True once ``pid`` no longer runs (absent, or a zombie waiting for its reaper)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


async def written(path: Path, within_s: float = 5.0) -> str:
    """The file's text once a whole line is in it. The shell creates the file (``> child.pid``)
    before it writes the pid, so waiting for the file alone reads '' now and then."""
    for _ in range(int(within_s / 0.02)):
        with contextlib.suppress(FileNotFoundError):
            text = path.read_text()
            if text.endswith("\n"):
                return text
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} got no complete line within {within_s}s")


async def test_exit_code_and_merged_stderr(ctx: ToolContext) -> None:
    result = await bash(ctx, "echo out; echo err >&2; echo more; exit 3")
    assert not result.is_error  # a failing command is information, not a tool failure
    assert result.output == "out\nerr\nmore\n[exit code 3]"
    assert result.metadata["exit_code"] == 3


async def test_runs_in_cwd_with_empty_stdin(ctx: ToolContext, project: Path) -> None:
    result = await bash(ctx, "pwd; cat; echo done")
    assert result.output == f"{project}\ndone\n[exit code 0]"


async def test_no_output(ctx: ToolContext) -> None:
    result = await bash(ctx, "true")
    assert result.output == "(no output)\n[exit code 0]"
    assert result.metadata["exit_code"] == 0


async def test_output_is_capped_keeping_head_and_tail(ctx: ToolContext) -> None:
    result = await bash(ctx, "echo START; yes | head -c 5000000; echo END")
    total = len("START\n") + 5_000_000 + len("END\n")
    assert result.metadata["output_bytes"] == total
    omitted = total - 2 * KEEP_BYTES
    assert f"[... {omitted} bytes omitted ...]" in result.output
    assert result.metadata["omitted_bytes"] == omitted
    assert result.output.startswith("START\ny\ny\n")
    assert result.output.endswith("y\nEND\n[exit code 0]")
    assert len(result.output) < 2 * KEEP_BYTES + 200


def test_capture_memory_stays_bounded() -> None:
    capture = _Capture(keep=1000)
    for _ in range(10_000):
        capture.feed(b"a" * 997)
        assert len(capture.head) + len(capture.tail) <= 3 * 1000
    assert capture.total == 9_970_000
    assert capture.omitted == 9_970_000 - 2000


async def test_timeout_kills_the_whole_process_group(ctx: ToolContext, project: Path) -> None:
    started = time.monotonic()
    result = await bash(ctx, "echo partial; sleep 30 & echo $! > child.pid; wait", timeout=1)
    elapsed = time.monotonic() - started
    assert result.is_error
    assert "command timed out after 1s" in result.output
    assert result.output.startswith("partial\n")
    assert result.metadata["timed_out"] is True
    assert elapsed < 5
    child = int((project / "child.pid").read_text())
    assert gone(child), f"background child {child} survived the timeout"


async def test_child_ignoring_sigterm_is_killed_too(ctx: ToolContext, project: Path) -> None:
    (project / "stubborn.sh").write_text("trap '' TERM\nsleep 30 &\necho $! > child.pid\nwait\n")
    result = await bash(ctx, "bash stubborn.sh", timeout=1)
    assert result.is_error and "timed out" in result.output
    assert gone(int((project / "child.pid").read_text()))


async def test_cancel_event_kills_the_command(ctx: ToolContext, project: Path) -> None:
    async def cancel_soon() -> None:
        await written(project / "child.pid")
        ctx.cancel.set()

    canceller = asyncio.create_task(cancel_soon())
    started = time.monotonic()
    result = await bash(ctx, "echo started; sleep 30 & echo $! > child.pid; wait")
    await canceller
    assert time.monotonic() - started < 5
    assert result.is_error
    assert result.output.startswith("started\n") and result.output.endswith("cancelled")
    assert result.metadata["cancelled"] is True
    assert gone(int((project / "child.pid").read_text()))


async def test_cancel_already_set_runs_nothing(ctx: ToolContext, project: Path) -> None:
    ctx.cancel.set()
    result = await bash(ctx, "touch ran.txt")
    assert result.is_error and "cancelled" in result.output
    assert not (project / "ran.txt").exists()


async def test_cancelling_the_task_kills_the_group(ctx: ToolContext, project: Path) -> None:
    task = asyncio.create_task(bash(ctx, "sleep 30 & echo $! > child.pid; wait"))
    await written(project / "child.pid")
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    assert gone(int((project / "child.pid").read_text()))


async def test_background_child_does_not_hold_the_call(ctx: ToolContext, project: Path) -> None:
    started = time.monotonic()
    result = await bash(ctx, "sleep 20 & echo $! > bg.pid; echo launched")
    pid = int((project / "bg.pid").read_text())
    try:
        assert time.monotonic() - started < 3
        assert result.output.startswith("launched\n")
        assert "background processes still running" in result.output
        assert result.output.endswith("[exit code 0]")
        assert not gone(pid, within_s=0.1), "a deliberately backgrounded process is left alone"
    finally:
        os.kill(pid, 9)


def test_permission_subject_is_the_command(project: Path) -> None:
    subject = BashTool().permission_subject({"command": "  git status  "}, project)
    assert subject.subject == "git status" and subject.default is None


async def test_provider_keys_are_not_in_the_commands_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencode.sessions.config import load_config

    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-hidden")
    monkeypatch.setenv("MY_GATEWAY_TOKEN", "tok-hidden-by-config")
    monkeypatch.setenv("HARMLESS_SETTING", "visible")
    (tmp_path / "opencode.toml").write_text(
        '[provider.gw]\napi = "openai"\nbase_url = "http://127.0.0.1:1/v1"\n'
        'headers = { authorization = "Bearer {env:MY_GATEWAY_TOKEN}" }\n'
    )
    load_config(tmp_path)
    result = await run_command("env", tmp_path, 10, asyncio.Event())
    assert "HARMLESS_SETTING=visible" in result.output
    assert "sk-openai-hidden" not in result.output
    assert "tok-hidden-by-config" not in result.output


async def test_result_says_which_sandbox_mode_applied(ctx: ToolContext) -> None:
    sandboxed = await execute(BashTool(sandbox=SandboxConfig()), {"command": "true"}, ctx)
    assert sandboxed.metadata["sandbox"] == "bwrap"
    assert "sandboxed with bwrap" in sandboxed.metadata["sandbox_mode"]
    bare = await execute(BashTool(sandbox=SandboxConfig(enabled=False)), {"command": "true"}, ctx)
    assert bare.metadata["sandbox"] == "none"
    assert "enabled = false" in bare.metadata["sandbox_mode"]


async def test_unsandboxed_timeout_kills_the_whole_process_group(
    ctx: ToolContext, project: Path
) -> None:
    tool = BashTool(sandbox=SandboxConfig(enabled=False))
    command = "echo partial; sleep 30 & echo $! > child.pid; wait"
    result = await execute(tool, {"command": command, "timeout": 1}, ctx)
    assert result.is_error and "timed out after 1s" in result.output
    assert result.metadata["sandbox"] == "none"
    assert gone(int((project / "child.pid").read_text()))


async def test_exit_code_is_the_commands_under_the_supervisor(ctx: ToolContext) -> None:
    for config in (SandboxConfig(), SandboxConfig(enabled=False)):
        result = await execute(BashTool(sandbox=config), {"command": "exit 7"}, ctx)
        assert result.metadata["exit_code"] == 7, config


async def test_extra_writable_directory(ctx: ToolContext, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    tool = BashTool(sandbox=SandboxConfig(writable=(cache,)))
    result = await execute(tool, {"command": f"echo c > {cache}/f && echo ok"}, ctx)
    assert result.output == "ok\n[exit code 0]"
    assert (cache / "f").read_text() == "c\n"
