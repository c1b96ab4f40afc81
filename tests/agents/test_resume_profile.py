"""A subagent's session continued on its own (``opencode run -s CHILD``) runs as the agent it
was started as: the profile's tools, prompt, model and stricter permissions, not the defaults.
Real ``opencode run`` subprocesses, a loopback server, the real SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.agents.routing_server import (
    RoutingServer,
    first_user,
    last_role,
    system_text,
    task_calls,
    text,
    tool_calls,
)
from tests.engine.helpers import opencode, query, write_config
from tests.support.stream_server import Reply

PROFILE = (
    "[agent.auditor]\n"
    'prompt = "AUDITOR PROFILE PROMPT"\n'
    'tools = ["read", "bash"]\n'
    'model = "mock/audit-model"\n'
    'permissions = { bash = "deny" }\n'
)


def _route(body: dict[str, Any]) -> Reply:
    users = [m["content"] for m in body.get("messages", []) if m.get("role") == "user"]
    if first_user(body).startswith("child-"):
        if users[-1] == "go on" and last_role(body) == "user":
            return tool_calls(("call_bash", "bash", {"command": "echo RESUMED-BASH-RAN"}))
        return text("child answer")
    if last_role(body) == "user":
        return task_calls(("audit the code", "child-A", "auditor"))
    return text("parent done")


def _offered(body: dict[str, Any]) -> list[str]:
    return sorted(t["function"]["name"] for t in body.get("tools", []))


def _resume(tmp_path: Path, server: RoutingServer, child: str) -> list[dict[str, Any]]:
    before = len(server.log)
    resumed = opencode(tmp_path, "run", "-s", child, "--yes", "--format", "json", "go on")
    assert resumed.code == 0, resumed.stderr
    return [e.body for e in server.log[before:]]


def test_a_resumed_subagent_keeps_its_profile(tmp_path: Path) -> None:
    with RoutingServer(_route) as server:
        write_config(tmp_path, "openai", server.url, PROFILE)
        assert opencode(tmp_path, "run", "--yes", "start").code == 0
        started = [e.body for e in server.log if first_user(e.body).startswith("child-")]
        child = query("SELECT id, model FROM session WHERE title = 'audit the code'")[0]
        sent = _resume(tmp_path, server, child["id"])
    assert child["model"] == "mock/audit-model"
    first = sent[0]
    # the same tools, prompt and model as when the parent started it
    assert _offered(first) == _offered(started[0]) == ["bash", "read"]
    assert "AUDITOR PROFILE PROMPT" in system_text(first)
    assert first["model"] == "audit-model"
    # the profile's bash = "deny" still wins over --yes
    (result,) = query(
        "SELECT status, content FROM part WHERE session_id = ? AND kind = 'tool_result'",
        (child["id"],),
    )
    assert result["status"] == "denied", dict(result)
    assert (result["content"] or "").startswith("Permission")  # refused, never run


def test_a_subagent_of_an_interrupted_parent_is_found_by_its_task_call(tmp_path: Path) -> None:
    """No task result names the child (the parent stopped while it ran): the parent's task
    call with the child's title says which agent it was."""
    with RoutingServer(_route) as server:
        write_config(tmp_path, "openai", server.url, PROFILE)
        assert opencode(tmp_path, "run", "--yes", "start").code == 0
        child = query("SELECT id FROM session WHERE title = 'audit the code'")[0]["id"]
        import sqlite3

        from tests.engine.helpers import db_path

        conn = sqlite3.connect(db_path())
        with conn:  # what an interrupted parent leaves: the call, no result
            conn.execute("DELETE FROM part WHERE kind = 'tool_result' AND tool_name = 'task'")
        conn.close()
        sent = _resume(tmp_path, server, child)
    assert _offered(sent[0]) == ["bash", "read"]
    assert "AUDITOR PROFILE PROMPT" in system_text(sent[0])


def test_a_resumed_subagent_whose_profile_is_gone_is_refused(tmp_path: Path) -> None:
    with RoutingServer(_route) as server:
        write_config(tmp_path, "openai", server.url, PROFILE)
        assert opencode(tmp_path, "run", "--yes", "start").code == 0
        child = query("SELECT id FROM session WHERE title = 'audit the code'")[0]["id"]
        write_config(tmp_path, "openai", server.url)
        before = len(server.log)
        resumed = opencode(tmp_path, "run", "-s", child, "--yes", "go on")
        assert len(server.log) == before  # nothing was sent with the default tools
    assert resumed.code != 0
    assert "agent 'auditor'" in resumed.stderr and "no such profile" in resumed.stderr


def test_a_resumed_subagent_keeps_its_step_budget(tmp_path: Path) -> None:
    """``max_steps = 1``: live, the child stops after one step; resumed, it still does (the
    "go on" turn calls bash, and no second step is sent)."""
    profile = PROFILE.replace('permissions = { bash = "deny" }\n', "max_steps = 1\n")
    with RoutingServer(_route) as server:
        write_config(tmp_path, "openai", server.url, profile)
        assert opencode(tmp_path, "run", "--yes", "start").code == 0
        child = query("SELECT id FROM session WHERE title = 'audit the code'")[0]["id"]
        sent = _resume(tmp_path, server, child)
    assert len(sent) == 1, [m["role"] for m in sent[-1]["messages"]]
    (result,) = query(
        "SELECT status, content FROM part WHERE session_id = ? AND kind = 'tool_result'",
        (child,),
    )
    assert "RESUMED-BASH-RAN" in result["content"]  # the one step ran its tool, then stopped


def test_a_resumed_subagent_keeps_the_mcp_tools_its_profile_names(tmp_path: Path) -> None:
    from tests.mcp.helpers import time_argv, toml_server

    profile = PROFILE.replace(
        'tools = ["read", "bash"]', 'tools = ["read", "bash", "time_get_current_time"]'
    )
    with RoutingServer(_route) as server:
        write_config(tmp_path, "openai", server.url, profile + toml_server("time", time_argv()))
        assert opencode(tmp_path, "run", "--yes", "start").code == 0
        started = [e.body for e in server.log if first_user(e.body).startswith("child-")]
        child = query("SELECT id FROM session WHERE title = 'audit the code'")[0]["id"]
        sent = _resume(tmp_path, server, child)
    assert _offered(started[0]) == ["bash", "read", "time_get_current_time"]
    assert _offered(sent[0]) == _offered(started[0])  # only what the profile names, MCP too
