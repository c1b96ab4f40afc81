"""Real MCP servers over stdio: mcp-server-time and mcp-server-git from PyPI, and the in-repo
fault server for what real servers do on a bad day (crash, hang, garbage, huge results)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opencode.sessions.mcp.connection import McpConnection, McpServerError
from opencode.sessions.mcp.manager import McpManager
from opencode.sessions.tools.base import ToolContext
from tests.mcp.helpers import PY, fault_argv, spec, time_argv


async def _nothing(path: Path, before: bytes | None) -> None:
    return None


def _ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=tmp_path, session_id="ses_x", call_id="call_x", record_change=_nothing)


def _manager(tmp_path: Path, *specs: object) -> tuple[McpManager, list[str]]:
    warnings: list[str] = []
    manager = McpManager(list(specs), tmp_path, tmp_path / "logs", warn=warnings.append)  # type: ignore[arg-type]
    return manager, warnings


async def test_time_server_tools_and_call(tmp_path: Path) -> None:
    manager, warnings = _manager(tmp_path, spec("time", time_argv()))
    try:
        tools = await manager.tools()
        assert set(tools) == {"time_get_current_time", "time_convert_time"}
        tool = tools["time_get_current_time"]
        assert tool.parameters["required"] == ["timezone"]
        result = await tool.run({"timezone": "UTC"}, _ctx(tmp_path))
        assert not result.is_error
        assert json.loads(result.output)["timezone"] == "UTC"
        assert result.metadata["mcp_server"] == "time"
    finally:
        await manager.aclose()
    assert warnings == []


async def test_git_server_reads_a_real_repo(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)  # noqa: ASYNC221 - setup
    (repo / "new.txt").write_text("hi")
    manager, _ = _manager(
        tmp_path, spec("git", [PY, "-m", "mcp_server_git", "--repository", str(repo)])
    )
    try:
        tools = await manager.tools()
        assert "git_git_status" in tools
        result = await tools["git_git_status"].run({"repo_path": str(repo)}, _ctx(tmp_path))
        assert not result.is_error, result.output
        assert "new.txt" in result.output
    finally:
        await manager.aclose()


async def test_servers_start_in_parallel(tmp_path: Path) -> None:
    """Three servers start concurrently: all are up after one start, and a hung one (timeout
    3 s) does not add its timeout to the others'."""
    manager, warnings = _manager(
        tmp_path,
        spec("a", fault_argv()),
        spec("b", fault_argv()),
        spec("hung", fault_argv("hang-init"), timeout=3),
    )
    try:
        tools = await manager.tools()
        assert any(n.startswith("a_") for n in tools) and any(n.startswith("b_") for n in tools)
        assert not any(n.startswith("hung_") for n in tools)
        assert manager.connections["hung"].state == "failed"
    finally:
        await manager.aclose()
    hung = [w for w in warnings if "'hung'" in w]
    assert len(hung) == 1 and "did not finish starting within 3 s" in hung[0]


@pytest.mark.fault
async def test_crash_mid_call_is_reported_and_restarted_once(tmp_path: Path) -> None:
    manager, _ = _manager(tmp_path, spec("f", fault_argv()))
    try:
        tools = await manager.tools()
        crashed = await tools["f_crash"].run({}, _ctx(tmp_path))
        assert crashed.is_error and "'f' crashed during 'crash'" in crashed.output
        assert "restarted for the next call" in crashed.output
        again = await tools["f_echo"].run({"text": "back"}, _ctx(tmp_path))
        assert not again.is_error and again.output == "back"  # restarted
        assert (await tools["f_crash"].run({}, _ctx(tmp_path))).is_error
        gone = await tools["f_echo"].run({"text": "x"}, _ctx(tmp_path))
        assert gone.is_error and "not available" in gone.output and "crashed twice" in gone.output
        assert await manager.tools() == {}  # withdrawn from later turns
    finally:
        await manager.aclose()


@pytest.mark.fault
async def test_server_dying_between_calls_is_restarted_for_the_next(tmp_path: Path) -> None:
    manager, _ = _manager(tmp_path, spec("f", fault_argv()))
    try:
        tools = await manager.tools()
        assert (await tools["f_exit_soon"].run({}, _ctx(tmp_path))).output == "bye"
        connection = manager.connections["f"]
        for _ in range(100):
            if connection._connection_closed():
                break
            await asyncio.sleep(0.1)
        result = await tools["f_echo"].run({"text": "again"}, _ctx(tmp_path))
        assert not result.is_error and result.output == "again"
        assert connection.restarts == 1
    finally:
        await manager.aclose()


@pytest.mark.fault
async def test_hung_call_becomes_a_tool_error(tmp_path: Path) -> None:
    manager, _ = _manager(tmp_path, spec("f", fault_argv(), timeout=60))
    try:
        tools = await manager.tools()
        manager.connections["f"].spec = spec("f", fault_argv(), timeout=2)  # calls: 2 s
        began = time.monotonic()
        result = await tools["f_hang"].run({}, _ctx(tmp_path))
        assert time.monotonic() - began < 30
        assert result.is_error and "did not answer 'hang' within 2 s" in result.output
        # The server itself is fine: other calls still work.
        assert (await tools["f_echo"].run({"text": "ok"}, _ctx(tmp_path))).output == "ok"
    finally:
        await manager.aclose()


@pytest.mark.fault
async def test_cancel_ends_a_hung_call(tmp_path: Path) -> None:
    manager, _ = _manager(tmp_path, spec("f", fault_argv()))
    try:
        tools = await manager.tools()
        ctx = _ctx(tmp_path)
        asyncio.get_running_loop().call_later(0.5, ctx.cancel.set)
        result = await tools["f_hang"].run({}, ctx)
        assert result.is_error and "cancelled" in result.output
    finally:
        await manager.aclose()


@pytest.mark.fault
async def test_hang_on_initialize_fails_within_timeout(tmp_path: Path) -> None:
    connection = McpConnection(spec("h", fault_argv("hang-init"), timeout=2), tmp_path, tmp_path)
    began = time.monotonic()
    with pytest.raises(McpServerError, match=r"MCP server 'h': did not finish starting within 2 s"):
        await connection.start()
    assert time.monotonic() - began < 20
    await connection.close()


@pytest.mark.fault
async def test_missing_binary_and_early_exit_name_the_server(tmp_path: Path) -> None:
    manager, warnings = _manager(
        tmp_path,
        spec("nobin", ["no-such-mcp-server-binary"]),
        spec("quits", fault_argv("exit")),
        spec(
            "broken",
            [PY, "-c", "import sys; sys.stderr.write('ImportError: no foo\\n'); sys.exit(1)"],
        ),
    )
    try:
        assert await manager.tools() == {}
    finally:
        await manager.aclose()
    text = "\n".join(warnings)
    assert "MCP server 'nobin': command 'no-such-mcp-server-binary' was not found on PATH" in text
    assert "MCP server 'quits': the server closed the connection (it exited or crashed)" in text
    assert "continuing without its tools" in text
    # What a broken server said on stderr is quoted, with where its full log is.
    assert "MCP server 'broken'" in text and "(its stderr: ImportError: no foo; full log:" in text


@pytest.mark.fault
async def test_garbage_on_stdout_is_skipped_and_reported(tmp_path: Path) -> None:
    manager, warnings = _manager(tmp_path, spec("g", fault_argv("garbage")))
    try:
        tools = await manager.tools()
        result = await tools["g_echo"].run({"text": "fine"}, _ctx(tmp_path))
        assert result.output == "fine"
    finally:
        await manager.aclose()
    assert any("'g' wrote 2 non-protocol line(s) to stdout" in w for w in warnings)


@pytest.mark.fault
async def test_huge_picture_and_bad_schema(tmp_path: Path) -> None:
    manager, warnings = _manager(tmp_path, spec("f", fault_argv()))
    try:
        tools = await manager.tools()
        huge = await tools["f_huge"].run({"size": 1_000_000}, _ctx(tmp_path))
        assert len(huge.output) < 101_000 and "900000 more characters cut" in huge.output
        picture = await tools["f_picture"].run({}, _ctx(tmp_path))
        assert "[image content: image/png" in picture.output and "iVBOR" not in picture.output
        bad = tools["f_bad_schema"]
        assert bad.parameters["properties"]["value"] == {}
        assert "missing" not in bad.parameters.get("required", [])
        assert (await bad.run({"value": "v"}, _ctx(tmp_path))).output == "v"
    finally:
        await manager.aclose()
    assert any("'bad_schema' has a malformed input schema, repaired" in w for w in warnings)


def _pids_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker.encode() in cmdline and b"fault_server.py" in b" ".join(cmdline):
                found.append(int(entry.name))
    return found


def _wait_gone(marker: str, seconds: float = 15) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := _pids_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


async def test_close_leaves_no_server_process(tmp_path: Path) -> None:
    marker = f"close-{os.getpid()}-{time.time_ns()}"
    manager, _ = _manager(tmp_path, spec("f", fault_argv("ok", marker)))
    await manager.tools()
    assert _pids_with(marker)
    await manager.aclose()
    assert _wait_gone(marker) == []


_KILLED_PARENT = """
import asyncio, sys
from pathlib import Path
from opencode.sessions.mcp.manager import McpManager
from tests.mcp.helpers import fault_argv, spec
async def main():
    m = McpManager([spec("f", fault_argv("ok", sys.argv[1]))], Path.cwd(), Path(sys.argv[2]))
    await m.tools()
    print("up", flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""


@pytest.mark.fault
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_sigkilled_parent_leaves_no_orphan(tmp_path: Path) -> None:
    marker = f"orphan-{os.getpid()}-{time.time_ns()}"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [PY, "-c", _KILLED_PARENT, marker, str(tmp_path)],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"up", proc.stderr.read() if proc.stderr else ""
        assert _pids_with(marker)
    finally:
        proc.kill()
        proc.wait()
    assert _wait_gone(marker) == []


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_streamable_http_server_with_headers(tmp_path: Path) -> None:
    from opencode.sessions.mcp.specs import ServerSpec

    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        *fault_argv("http", str(port)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        remote = ServerSpec(
            name="web",
            transport="http",
            source="test",
            url=url,
            headers={"X-Test-Token": "tok-abcdef123"},
            timeout=30,
        )
        manager, warnings = _manager(tmp_path, remote)
        for _ in range(100):  # until the server listens
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        try:
            tools = await manager.tools()
            assert (await tools["web_echo"].run({"text": "hi"}, _ctx(tmp_path))).output == "hi"
            seen = await tools["web_header"].run({"name": "x-test-token"}, _ctx(tmp_path))
            # The header reached the server; the secret value is scrubbed from the result.
            assert seen.output == "[redacted config]", seen.output
        finally:
            await manager.aclose()
        assert warnings == [] or all("bad_schema" in w for w in warnings)
    finally:
        proc.kill()
        await proc.wait()


async def test_disabled_server_is_not_started(tmp_path: Path) -> None:
    manager, warnings = _manager(tmp_path, spec("off", ["no-such-binary-off"], enabled=False))
    try:
        assert await manager.tools() == {}
        (row,) = manager.status()
        assert (row.name, row.state, row.enabled) == ("off", "disabled", False)
    finally:
        await manager.aclose()
    assert warnings == []


async def test_server_log_is_rotated_past_its_limit(tmp_path: Path) -> None:
    from opencode.sessions.mcp.connection import LOG_MAX_BYTES

    connection = McpConnection(spec("f", fault_argv()), tmp_path, tmp_path / "logs")
    connection.log_dir.mkdir()
    connection.log_path.write_bytes(b"old\n" * (LOG_MAX_BYTES // 4 + 1))
    await connection.start()
    await connection.close()
    assert connection.log_path.with_suffix(".log.1").stat().st_size > LOG_MAX_BYTES
    assert connection.log_path.stat().st_size < 10_000
