"""``opencode mcp list|tools|resources|add|remove`` as a user runs them (real subprocesses,
real servers); add/remove keep the user's comments in opencode.toml."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine.helpers import opencode
from tests.mcp.helpers import FAULT_SERVER, PY, time_argv

ORIGINAL = (
    '# my settings\nmodel = "openai/gpt-4o-mini"  # the default\n\n'
    '[permission]\n# careful\nbash = "ask"\n'
)


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "opencode.toml").write_text(ORIGINAL)
    return project


def test_add_and_remove_keep_comments(tmp_path: Path) -> None:
    project = _project(tmp_path)
    run = opencode(project, "mcp", "add", "--env", "TZ={env:HOME}", "time", "--", *time_argv())
    assert run.code == 0, run.stderr
    run = opencode(
        project, "mcp", "add", "remote", "--url", "https://example.com/mcp", "--header", "X-Key=abc"
    )
    assert run.code == 0, run.stderr
    text = (project / "opencode.toml").read_text()
    assert text.startswith(ORIGINAL)
    assert "[mcp.time]" in text and '"mcp_server_time"' in text and 'TZ = "{env:HOME}"' in text
    assert "[mcp.remote]" in text and 'url = "https://example.com/mcp"' in text
    again = opencode(project, "mcp", "add", "time", "--", "x")
    assert again.code == 1 and "already has [mcp.time]" in again.stderr
    assert opencode(project, "mcp", "remove", "remote").code == 0
    assert opencode(project, "mcp", "remove", "time").code == 0
    assert (project / "opencode.toml").read_text() == ORIGINAL
    missing = opencode(project, "mcp", "remove", "time")
    assert missing.code == 1 and "has no [mcp.time]" in missing.stderr


def test_add_refuses_bad_input(tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert "either a command" in opencode(project, "mcp", "add", "x").stderr
    assert "must be letters" in opencode(project, "mcp", "add", "a.b", "--", "c").stderr
    assert "http:// or https://" in opencode(project, "mcp", "add", "x", "--url", "ftp://h").stderr
    assert (project / "opencode.toml").read_text() == ORIGINAL


def test_list_and_tools(tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert opencode(project, "mcp", "add", "time", "--", *time_argv()).code == 0
    assert opencode(project, "mcp", "add", "nobin", "--", "no-such-mcp-binary-q").code == 0
    run = opencode(project, "mcp", "list", "--format", "json")
    assert run.code == 0, run.stderr
    servers = {s["name"]: s for s in json.loads(run.stdout)["servers"]}
    assert servers["time"]["status"] == "ready" and servers["time"]["tools"] == 2
    assert servers["time"]["schema_tokens"] > 50
    assert servers["nobin"]["status"] == "failed"
    assert "was not found on PATH" in servers["nobin"]["error"]
    text = opencode(project, "mcp", "list")
    assert "time" in text.stdout and "ready" in text.stdout
    tools = opencode(project, "mcp", "tools", "time")
    assert tools.code == 0, tools.stderr
    assert (
        "time_get_current_time" in tools.stdout and "tokens of schema per request" in tools.stdout
    )
    unknown = opencode(project, "mcp", "tools", "nope")
    assert (
        unknown.code == 1
        and "no MCP server named 'nope'; configured: time, nobin" in unknown.stderr
    )


def test_resources_and_slash_alias(tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert opencode(project, "mcp", "add", "fault", "--", PY, str(FAULT_SERVER)).code == 0
    run = opencode(project, "mcp", "resources", "fault")
    assert run.code == 0, run.stderr
    assert "note://readme" in run.stdout
    slash = opencode(project, "run", "/mcp")  # what /mcp in chat runs
    assert slash.code == 0, slash.stderr
    assert "fault" in slash.stdout and "ready" in slash.stdout


def test_list_without_servers_says_how_to_add_one(tmp_path: Path) -> None:
    run = opencode(_project(tmp_path), "mcp", "list")
    assert run.code == 0 and "No MCP servers configured" in run.stdout


def test_prompts_and_prompt_text(tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert opencode(project, "mcp", "add", "fault", "--", PY, str(FAULT_SERVER)).code == 0
    listed = opencode(project, "mcp", "prompts", "fault")
    assert listed.code == 0 and "review" in listed.stdout and "topic" in listed.stdout
    run = opencode(project, "mcp", "prompt", "fault", "review", "topic=the parser")
    assert run.code == 0, run.stderr
    assert run.stdout.strip() == "Please review the parser carefully."
    missing = opencode(project, "mcp", "prompt", "fault", "review")
    assert missing.code == 2 and "needs topic=..." in missing.stderr
    unknown = opencode(project, "mcp", "prompt", "fault", "nope")
    assert unknown.code == 1 and "has no prompt 'nope'; it has: review" in unknown.stderr
