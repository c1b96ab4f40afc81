"""Hostile file-system probes: FIFOs, symlinks out of the project or onto .env, writes into
.git, and huge files, through the real tools and a real ``opencode run`` subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from opencode.sessions.config import PermissionConfig
from opencode.sessions.tools.base import Tool, ToolContext, ToolError, ToolResult
from opencode.sessions.tools.files import (
    MAX_LINE_CHARS,
    MAX_READ_BYTES,
    EditTool,
    ReadTool,
    WriteTool,
)
from opencode.sessions.tools.glob_tool import GlobTool
from opencode.sessions.tools.grep_tool import MAX_OUTPUT_CHARS, GrepTool
from opencode.sessions.tools.list_tool import ListTool
from opencode.sessions.tools.paths import run_blocking, sensitive_reason
from opencode.sessions.tools.permissions import Permissions
from opencode.sessions.tools.registry import execute
from tests.engine.helpers import (
    CONTENT_TYPE,
    openai_sse,
    openai_text_chunks,
    opencode,
    write_config,
)
from tests.support.stream_server import Reply, StreamServer

pytestmark = pytest.mark.fault
SSE = {"content-type": CONTENT_TYPE["sse"]}


async def run(tool: Tool, ctx: ToolContext, **args: Any) -> ToolResult:
    # A hang is the bug these probes look for: fail, do not wait forever.
    return await asyncio.wait_for(execute(tool, args, ctx), timeout=20)


def tool_calls_reply(*calls: tuple[str, dict[str, Any]]) -> Reply:
    """One OpenAI streamed response asking for the given tool calls."""
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "test-model"}
    delta_calls = [
        {
            "index": i,
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)},
        }
        for i, (name, args) in enumerate(calls)
    ]
    chunks = [
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": None, "tool_calls": delta_calls},
                    "finish_reason": None,
                }
            ],
        },
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    return Reply(body=openai_sse(*chunks), headers=SSE)


def allow_all(project: Path, tools: dict[str, str] | None = None) -> Permissions:
    every = {t: "allow" for t in ("read", "write", "edit", "grep", "glob", "list")}
    return Permissions(PermissionConfig(tools={**every, **(tools or {})}), project)


# ---------------------------------------------------------------------------- FIFOs


async def test_every_file_tool_refuses_a_fifo_promptly(ctx: ToolContext, project: Path) -> None:
    fifo = project / "pipe"
    os.mkfifo(fifo)
    for tool, args in (
        (ReadTool(), {"path": "pipe"}),
        (WriteTool(), {"path": "pipe", "content": "x"}),
        (EditTool(), {"path": "pipe", "old_string": "a", "new_string": "b"}),
        (GrepTool(), {"pattern": "x", "path": "pipe"}),
    ):
        result = await run(tool, ctx, **args)
        assert result.is_error, tool.name
        assert "pipe is a named pipe (FIFO), not a regular file" in result.output, tool.name


async def test_grep_walk_skips_a_fifo(ctx: ToolContext, project: Path) -> None:
    os.mkfifo(project / "pipe")
    (project / "a.txt").write_text("needle\n")
    result = await run(GrepTool(), ctx, pattern="needle")
    assert result.output.splitlines() == ["1 match in 1 file", "a.txt:1: needle"]


async def test_read_refuses_a_character_device(ctx: ToolContext) -> None:
    result = await run(ReadTool(), ctx, path="/dev/zero")
    assert result.is_error and "/dev/zero is a character device" in result.output


def test_fifo_through_opencode_run_is_refused_and_the_run_ends(project: Path) -> None:
    os.mkfifo(project / "pipe")
    replies = [
        tool_calls_reply(
            ("read", {"path": "pipe"}),
            ("write", {"path": "pipe", "content": "hello"}),
        ),
        Reply(body=openai_text_chunks(["Done."]), headers=SSE),
    ]
    with StreamServer(replies) as server:
        write_config(project, "openai", server.url)
        # On main this run never ended: the read blocked in open() on the FIFO.
        result = opencode(project, "run", "--format", "json", "--yes", "go", timeout=60)
    assert result.code == 0, result.stderr
    outputs = {r["call_id"]: r for r in result.of_type("tool_result")}
    assert set(outputs) == {"call_0", "call_1"}
    for r in outputs.values():
        assert r["status"] == "error"
        assert "pipe is a named pipe (FIFO), not a regular file" in r["output"]
    assert result.of_type("finish")[0]["reason"] == "stop"


# ---------------------------------------------------------------------------- symlinks


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("TOKEN=outside-secret\n")
    return folder


async def test_grep_does_not_follow_links_out_of_the_project_or_onto_env(
    ctx: ToolContext, project: Path, outside: Path
) -> None:
    (project / ".env").write_text("TOKEN=env-secret\n")
    (project / "notes.txt").symlink_to(project / ".env")
    (project / "out.txt").symlink_to(outside / "secret.txt")
    (project / "outdir").symlink_to(outside, target_is_directory=True)
    (project / "ok.txt").write_text("TOKEN=placeholder\n")
    result = await run(GrepTool(), ctx, pattern="TOKEN")
    assert "secret" not in result.output
    assert result.output.splitlines()[:2] == ["1 match in 1 file", "ok.txt:1: TOKEN=placeholder"]
    assert result.metadata["skipped_sensitive_files"] == 2  # .env and the link to it
    assert result.metadata["links_outside"] == 2


def test_grep_and_glob_named_links_are_judged_by_their_target(project: Path, outside: Path) -> None:
    (project / ".env").write_text("TOKEN=env-secret\n")
    (project / "notes.txt").symlink_to(project / ".env")
    (project / "outdir").symlink_to(outside, target_is_directory=True)
    p = allow_all(project)
    env = GrepTool().permission_subject({"pattern": "x", "path": "notes.txt"}, project)
    assert env.subject == ".env" and p.decide("grep", env) == "ask"
    out = GrepTool().permission_subject({"pattern": "x", "path": "outdir"}, project)
    assert out.subject == str(outside) and p.decide("grep", out) == "ask"
    glob = GlobTool().permission_subject({"pattern": "outdir/*.txt"}, project)
    assert glob.subject == str(outside) and p.decide("glob", glob) == "ask"
    listing = ListTool().permission_subject({"path": "outdir"}, project)
    assert p.decide("list", listing) == "ask"
    read = ReadTool().permission_subject({"path": "notes.txt"}, project)
    assert read.subject == ".env" and p.decide("read", read) == "ask"


async def test_glob_walk_skips_links_out_of_the_project(
    ctx: ToolContext, project: Path, outside: Path
) -> None:
    (project / "in.txt").write_text("x\n")
    (project / "out.txt").symlink_to(outside / "secret.txt")
    (project / "outdir").symlink_to(outside, target_is_directory=True)
    result = await run(GlobTool(), ctx, pattern="**/*.txt")
    assert result.output.splitlines() == [
        "in.txt",
        "(2 symlinks pointing outside . skipped)",
    ]


# ---------------------------------------------------------------------------- .git and friends


@pytest.mark.parametrize("rel", [".git/config", ".git/hooks/pre-commit", ".env", ".env.local"])
def test_sensitive_paths_ask_even_when_the_tool_is_allowed(project: Path, rel: str) -> None:
    (project / ".git" / "hooks").mkdir(parents=True)
    p = allow_all(project)
    for tool in (WriteTool(), EditTool(), ReadTool()):
        subject = tool.permission_subject({"path": rel}, project)
        assert subject.subject == rel
        assert p.decide(tool.name, subject) == "ask", (tool.name, rel)


def test_sensitive_reason_names_each_kind(project: Path, tmp_path: Path) -> None:
    assert "git" in (sensitive_reason(project / ".git" / "config") or "")
    assert ".env" in (sensitive_reason(project / "app" / ".env.production") or "")
    assert sensitive_reason(project / ".env.example") is None
    assert "SSH" in (sensitive_reason(Path.home() / ".ssh" / "id_ed25519") or "")
    config_home = Path(os.environ["XDG_CONFIG_HOME"])
    assert "configuration" in (sensitive_reason(config_home / "opencode" / "opencode.toml") or "")
    data = Path(os.environ["OPENCODE_DATA_DIR"])
    assert "data" in (sensitive_reason(data / "opencode.db") or "")
    assert sensitive_reason(project / "src" / "app.py") is None


def test_writing_git_config_through_opencode_run_asks(project: Path) -> None:
    (project / ".git" / "hooks").mkdir(parents=True)
    (project / ".git" / "config").write_text("[core]\n")
    attack = '[core]\n\tfsmonitor = "touch ../pwned"\n'
    replies = [
        tool_calls_reply(
            ("write", {"path": ".git/config", "content": attack}),
            ("write", {"path": ".git/hooks/pre-commit", "content": "#!/bin/sh\ntouch x\n"}),
        ),
        Reply(body=openai_text_chunks(["ok"]), headers=SSE),
    ]
    with StreamServer(replies) as server:
        write_config(project, "openai", server.url, extra='[permission]\nwrite = "allow"\n')
        result = opencode(project, "run", "--format", "json", "go", timeout=60)
    assert result.code == 0, result.stderr
    decisions = [(e["tool"], e["decision"]) for e in result.of_type("permission")]
    assert decisions == [("write", "deny"), ("write", "deny")]  # asked; headless denies
    assert (project / ".git" / "config").read_text() == "[core]\n"
    assert not (project / ".git" / "hooks" / "pre-commit").exists()


# ---------------------------------------------------------------------------- huge files


@pytest.fixture
def huge_line(project: Path) -> Path:
    """A 24 MB file that is one line, then a short one: written in blocks, never held whole."""
    path = project / "huge.txt"
    block = b"0123456789abcdef" * 65536  # 1 MiB
    with path.open("wb") as fh:
        for _ in range(24):
            fh.write(block)
        fh.write(b"\nshort tail line\n")
    return path


async def test_read_of_a_huge_line_returns_bounded_output(
    ctx: ToolContext, huge_line: Path
) -> None:
    result = await run(ReadTool(), ctx, path="huge.txt")
    assert not result.is_error, result.output
    assert len(result.output) < MAX_READ_BYTES
    first, second = result.output.split("\n")[:2]
    assert first.startswith("    1\t0123456789abcdef")
    assert first.endswith(f"… [line cut, {24 * 1024 * 1024} bytes]")
    assert len(first) < MAX_LINE_CHARS + 100
    assert second == "    2\tshort tail line"
    assert result.metadata["total_lines"] == 2


async def test_grep_output_stays_bounded_on_huge_lines(ctx: ToolContext, project: Path) -> None:
    # Under grep's per-file size cap but made of long lines: every matching line is cut.
    line = "needle " + "x" * 100_000 + "\n"
    (project / "wide.txt").write_text(line * 15)
    result = await run(GrepTool(), ctx, pattern="needle")
    assert result.metadata["matches"] == 15
    assert len(result.output) < MAX_OUTPUT_CHARS
    assert "[line cut, 100007 chars]" in result.output.splitlines()[1]
    named = await run(GrepTool(), ctx, pattern="needle", path=str(project / "wide.txt"))
    assert len(named.output) < MAX_OUTPUT_CHARS


# ---------------------------------------------------------------------------- blocking I/O


async def test_blocking_io_past_its_deadline_is_a_clear_error() -> None:
    release = threading.Event()
    try:
        with pytest.raises(ToolError, match="reading stuck.txt did not finish within"):
            await run_blocking(lambda: release.wait(30), "reading stuck.txt", deadline=0.2)
    finally:
        release.set()


def test_io_stuck_in_a_thread_does_not_keep_the_process_alive(tmp_path: Path) -> None:
    """A thread blocked for good (here: a plain open() of a FIFO nobody writes) must not hold
    the interpreter at exit, or SIGTERM could never end `opencode run`."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    script = (
        "import asyncio, sys\n"
        "from opencode.sessions.tools.base import ToolError\n"
        "from opencode.sessions.tools.paths import run_blocking\n"
        "async def main():\n"
        f"    await run_blocking(lambda: open({str(fifo)!r}).read(), 'stuck', deadline=0.5)\n"
        "try:\n"
        "    asyncio.run(main())\n"
        "except ToolError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert "stuck did not finish within" in done.stdout
