"""``opencode run`` with MCP servers, end to end: a loopback provider replays a recorded-style
SSE reply that calls ``time_get_current_time``; the real mcp-server-time answers; the result
is persisted and sent back. Broken servers beside it are reported in one line each and the
run goes on. A run without MCP servers never imports the SDK."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.helpers import fixture, opencode, query, whole_db_text, write_config
from tests.mcp.helpers import fault_argv, time_argv, toml_server
from tests.support.stream_server import Reply, StreamServer


def _replies() -> list[Reply]:
    return [Reply(fixture("openai_mcp_time_call.sse")), Reply(fixture("openai_step2_final.sse"))]


def test_run_calls_an_mcp_tool_and_persists_the_result(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    with StreamServer(_replies()) as server:
        write_config(
            project, "openai", f"http://127.0.0.1:{server.port}", toml_server("time", time_argv())
        )
        run = opencode(project, "run", "--yes", "--format", "json", "what time is it in UTC?")
        assert run.code == 0, run.stderr
        first, second = server.requests[0].json(), server.requests[1].json()
    offered = [t["function"]["name"] for t in first["tools"]]
    assert "time_get_current_time" in offered and "read" in offered
    (result,) = run.of_type("tool_result")
    assert result["status"] == "completed" and result["tool"] == "time_get_current_time"
    answer = json.loads(result["output"])
    assert answer["timezone"] == "UTC"
    # Sent back to the model as the tool message answering that call.
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["tool_call_id"] == "call_Mcp4Tm7Qw2Rz9Yb1Nc5Vx8Lk"
    assert json.loads(tool_message["content"]) == answer
    # Persisted like any tool result.
    rows = query(
        "SELECT kind, tool_name, status, content FROM part WHERE tool_name = ?",
        ("time_get_current_time",),
    )
    kinds = {r["kind"]: r for r in rows}
    assert kinds["tool_result"]["status"] == "completed"
    assert json.loads(kinds["tool_result"]["content"]) == answer


def test_mcp_tools_ask_by_default_and_headless_denies(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    with StreamServer(_replies()) as server:
        write_config(
            project, "openai", f"http://127.0.0.1:{server.port}", toml_server("time", time_argv())
        )
        run = opencode(project, "run", "--format", "json", "what time is it?")
    (result,) = run.of_type("tool_result")
    assert result["status"] == "denied", run.stdout


def test_permission_pattern_allows_without_yes(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    extra = '[permission]\n"time_*" = "allow"\n' + toml_server("time", time_argv())
    with StreamServer(_replies()) as server:
        write_config(project, "openai", f"http://127.0.0.1:{server.port}", extra)
        run = opencode(project, "run", "--format", "json", "what time is it?")
    (result,) = run.of_type("tool_result")
    assert result["status"] == "completed", run.stdout + run.stderr


def test_claude_code_mcp_json_is_read(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    argv = time_argv()
    (project / ".mcp.json").write_text(
        json.dumps(
            {
                "mcpServers": {
                    "time": {"command": argv[0], "args": argv[1:], "env": {"X": "${HOME}"}}
                }
            }
        )
    )
    with StreamServer(_replies()) as server:
        write_config(project, "openai", f"http://127.0.0.1:{server.port}")
        run = opencode(project, "run", "--yes", "--format", "json", "time?")
    (result,) = run.of_type("tool_result")
    assert result["status"] == "completed", run.stderr


@pytest.mark.fault
def test_broken_servers_are_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    extra = (
        toml_server("time", time_argv())
        + toml_server("nobin", ["no-such-mcp-binary-xyz"])
        + toml_server("junk", fault_argv("garbage"))
        + toml_server("stuck", fault_argv("hang-init"), timeout=3)
        + '[mcp.secret]\ncommand = "no-such-binary-2"\nenv = { TOKEN = "sk-mcp-SECRET-99999" }\n'
    )
    with StreamServer(_replies()) as server:
        write_config(project, "openai", f"http://127.0.0.1:{server.port}", extra)
        run = opencode(project, "run", "--yes", "--format", "json", "what time is it?")
    assert run.code == 0, run.stderr
    (result,) = run.of_type("tool_result")
    assert result["status"] == "completed"
    err = run.stderr
    assert "MCP server 'nobin': command 'no-such-mcp-binary-xyz' was not found on PATH" in err
    assert "MCP server 'junk' wrote" in err and "non-protocol line(s) to stdout" in err
    assert "MCP server 'stuck': did not finish starting within 3 s" in err
    assert "sk-mcp-SECRET-99999" not in err + run.stdout
    assert "sk-mcp-SECRET-99999" not in whole_db_text()


_PROBE = """
import sys
from opencode.commands.cli import main
try:
    code = main(["run", "--yes", "hello"])
except SystemExit as exc:
    code = exc.code
assert "mcp" not in sys.modules, sorted(m for m in sys.modules if m.startswith("mcp"))
print("CODE", code)
"""


def test_run_without_mcp_servers_never_imports_the_sdk(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    with StreamServer([Reply(fixture("openai_text.sse"))]) as server:
        write_config(project, "openai", f"http://127.0.0.1:{server.port}")
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    assert proc.returncode == 0, proc.stderr
    assert "CODE 0" in proc.stdout


def test_turn_offering_no_mcp_tool_starts_no_server(tmp_path: Path) -> None:
    """Servers configured, but the provider offers only ``read``: nothing starts (a missing
    binary would be reported if it did) and the SDK is not imported."""
    project = tmp_path / "proj"
    with StreamServer([Reply(fixture("openai_text.sse"))]) as server:
        config = write_config(
            project,
            "openai",
            f"http://127.0.0.1:{server.port}",
            toml_server("time", time_argv()) + toml_server("nobin", ["no-such-binary-zz"]),
        )
        config.write_text(config.read_text() + 'tools = ["read"]\n')
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    assert proc.returncode == 0, proc.stderr
    assert "CODE 0" in proc.stdout and "MCP server" not in proc.stderr
