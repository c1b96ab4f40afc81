"""bash through a real ``opencode run``: a kill -9 takes the command along, deny beats --yes,
and with no [permission] section headless bash runs only inside the sandbox."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest

from tests.engine.helpers import openai_sse, openai_text_chunks, opencode, spawn, write_config
from tests.support.stream_server import Reply, StreamServer

pytestmark = pytest.mark.fault

UNSANDBOXED = "[sandbox]\nenabled = false\n"


def bash_call(command: str, timeout: int = 600) -> bytes:
    args = json.dumps({"command": command, "timeout": timeout})
    call = {"index": 0, "id": "call_b", "type": "function"}
    return openai_sse(
        {
            "id": "c1",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "role": "assistant",
                        "tool_calls": [{**call, "function": {"name": "bash", "arguments": args}}],
                    },
                    "finish_reason": None,
                }
            ],
        },
        {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    )


def replies(command: str) -> list[Reply]:
    return [Reply(body=bash_call(command)), Reply(body=openai_text_chunks(["done"]))]


def pids_running(argv: list[str]) -> list[int]:
    """Live (non-zombie) processes whose command line is exactly ``argv``."""
    wanted = "\0".join(argv) + "\0"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "cmdline").read_text() != wanted:
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if state != "Z":
            found.append(int(entry.name))
    return found


def poll(check: object, within_s: float) -> float | None:
    """Seconds until ``check()`` is true, or None if it never was within ``within_s``."""
    started = time.monotonic()
    while time.monotonic() - started < within_s:
        if check():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(0.02)
    return None


@pytest.mark.parametrize(
    ("extra", "shape"),
    [
        ("", "{sleep}"),  # sandboxed, the shell execs sleep
        ("", "{sleep} & wait"),  # sandboxed, sleep is a grandchild
        (UNSANDBOXED, "{sleep}"),
        (UNSANDBOXED, "echo x; {sleep}; echo y"),  # a foreground child of the shell
    ],
    ids=["sandboxed", "sandboxed-background", "unsandboxed", "unsandboxed-child"],
)
def test_kill_9_of_opencode_run_kills_the_command(tmp_path: Path, extra: str, shape: str) -> None:
    seconds = f"300.{random.randrange(10**6):06d}"  # a command line no other test has
    argv = ["sleep", seconds]
    with StreamServer(replies(shape.format(sleep=" ".join(argv)))) as server:
        write_config(tmp_path, "openai", server.url, extra)
        proc = spawn(tmp_path, "run", "--yes", "sleep")
        try:
            assert poll(lambda: pids_running(argv), 30) is not None, "sleep never started"
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            took = poll(lambda: not pids_running(argv), 5)
            print(f"sleep gone {took}s after kill -9 of opencode run ({shape}, {extra!r})")
            assert took is not None, f"sleep {seconds} outlived opencode run"
        finally:
            for pid in pids_running(argv):
                os.kill(pid, signal.SIGKILL)


def test_yes_does_not_override_a_configured_deny(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("keep me\n")
    extra = '[permission.bash]\n"git push*" = "deny"\n"rm*" = "deny"\n'
    for command in ("true; rm -f f", "command rm f", "/bin/rm f", "bash -c 'rm f'"):
        with StreamServer(replies(command)) as server:
            write_config(tmp_path, "openai", server.url, extra)
            run = opencode(tmp_path, "run", "--yes", "--format", "json", "go")
        assert run.code == 0, run.stderr
        assert run.of_type("tool_result")[0]["status"] == "denied", command
        assert (tmp_path / "f").exists(), command


def test_no_permission_section_headless_runs_bash_only_in_the_sandbox(tmp_path: Path) -> None:
    with StreamServer(replies("touch made-sandboxed")) as server:
        write_config(tmp_path, "openai", server.url)
        run = opencode(tmp_path, "run", "--format", "json", "go")
    assert run.of_type("tool_result")[0]["status"] == "completed", run.stdout
    assert (tmp_path / "made-sandboxed").exists()

    with StreamServer(replies("touch made-bare")) as server:
        write_config(tmp_path, "openai", server.url, UNSANDBOXED)
        run = opencode(tmp_path, "run", "--format", "json", "go")
        assert run.of_type("tool_result")[0]["status"] == "denied", run.stdout
        assert not (tmp_path / "made-bare").exists()
    with StreamServer(replies("touch made-bare")) as server:
        write_config(tmp_path, "openai", server.url, UNSANDBOXED)
        allowed = opencode(tmp_path, "run", "--allow", "bash", "--format", "json", "go")
    assert allowed.of_type("tool_result")[0]["status"] == "completed", allowed.stdout
    assert (tmp_path / "made-bare").exists()
