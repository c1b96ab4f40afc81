"""Subagent limits and profiles: step and token budgets, the parallel limit, permission
overrides that only tighten, profile files and tables, and their errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opencode.sessions.agents import agent_limits, load_profiles, profile_from_file
from opencode.sessions.config import ConfigError, PermissionConfig, load_config
from opencode.sessions.subagents import ChildPermissions
from opencode.sessions.tools.base import PermissionSubject
from opencode.sessions.tools.permissions import Permissions
from tests.agents.routing_server import (
    RoutingServer,
    first_user,
    last_role,
    task_calls,
    text,
    tool_calls,
    tool_results,
)
from tests.engine.helpers import opencode, query, write_config
from tests.support.stream_server import Reply


def _parent_then(child: Any, *, agent: str | None = None, n: int = 1) -> Any:
    def route(body: dict[str, Any]) -> Reply:
        prompt = first_user(body)
        if prompt.startswith("child"):
            reply: Reply = child(body)
            return reply
        if last_role(body) == "user":
            return task_calls(*[(f"job {i}", f"child{i}", agent) for i in range(n)])
        return text("parent: " + " | ".join(tool_results(body)))

    return route


def _list_forever(body: dict[str, Any]) -> Reply:
    step = sum(1 for m in body["messages"] if m["role"] == "tool")
    return tool_calls((f"call_list_{step}", "list", {"path": "."}))


@pytest.mark.fault
def test_a_child_over_its_token_budget_is_stopped(tmp_path: Path) -> None:
    with RoutingServer(_parent_then(_list_forever)) as server:
        write_config(tmp_path, "openai", server.url, extra="[agents]\nmax_tokens = 5\n")
        run = opencode(tmp_path, "run", "--format", "json", "go")
    assert run.code == 0, run.stderr
    parent = run.events()[0]["session_id"]
    result = next(
        e for e in run.events() if e["type"] == "tool_result" and e["session_id"] == parent
    )
    assert result["status"] == "error" and "over its budget of 5" in result["output"]
    assert sum(1 for e in server.log if e.is_child) == 1  # stopped after its first step


def test_a_profile_file_sets_tools_permissions_and_step_budget(tmp_path: Path) -> None:
    agents = tmp_path / ".opencode" / "agents"
    agents.mkdir(parents=True)
    (agents / "lister.md").write_text(
        "---\ndescription: lists things\ntools: List, Read, bash\nmax_steps: 2\n"
        "permissions:\n  read: deny\n---\nYou list files. PROFILE-MARK\n",
        encoding="utf-8",
    )

    def child(body: dict[str, Any]) -> Reply:
        step = sum(1 for m in body["messages"] if m["role"] == "tool")
        if step == 0:
            return tool_calls(("call_read", "read", {"path": "x.txt"}))
        return _list_forever(body)

    (tmp_path / "x.txt").write_text("x\n")
    with RoutingServer(_parent_then(child, agent="lister")) as server:
        write_config(tmp_path, "openai", server.url)
        run = opencode(tmp_path, "run", "--format", "json", "go")
    assert run.code == 0, run.stderr
    requests = [e for e in server.log if e.is_child]
    assert len(requests) == 2  # max_steps = 2
    body = requests[0].body
    assert "PROFILE-MARK" in body["messages"][0]["content"]
    # bash is listed but headless `run` offers it too; read and list as the profile says.
    assert sorted(t["function"]["name"] for t in body["tools"]) == ["bash", "list", "read"]
    child_id = query("SELECT id FROM session WHERE parent_id IS NOT NULL")[0]["id"]
    denied = [
        e
        for e in run.events()
        if e["type"] == "tool_result" and e["session_id"] == child_id and e["tool"] == "read"
    ]
    assert denied[0]["status"] == "denied"  # the profile's deny, though the parent allows read
    parent = run.events()[0]["session_id"]
    result = next(
        e for e in run.events() if e["type"] == "tool_result" and e["session_id"] == parent
    )
    assert result["status"] == "error" and "stopped after 2 steps" in result["output"]


def test_max_parallel_one_runs_children_one_after_another(tmp_path: Path) -> None:
    route = _parent_then(lambda body: text("ok", first_byte_delay=0.3), n=2)
    with RoutingServer(route) as server:
        write_config(tmp_path, "openai", server.url, extra="[agents]\nmax_parallel = 1\n")
        run = opencode(tmp_path, "run", "go")
    assert run.code == 0, run.stderr
    first, second = [e for e in server.log if e.is_child]
    assert first.completed_at is not None and second.received_at >= first.completed_at


def test_agents_disabled_offers_no_task_tool(tmp_path: Path) -> None:
    with RoutingServer(lambda body: text("hi")) as server:
        write_config(tmp_path, "openai", server.url, extra="[agents]\nenabled = false\n")
        run = opencode(tmp_path, "run", "go")
    assert run.code == 0, run.stderr
    assert "task" not in [t["function"]["name"] for t in server.log[0].body["tools"]]


def test_a_bad_agents_value_is_a_usage_error_naming_the_key(tmp_path: Path) -> None:
    with RoutingServer(lambda body: text("hi")) as server:
        write_config(tmp_path, "openai", server.url, extra='[agents]\nmax_depth = "deep"\n')
        run = opencode(tmp_path, "run", "go")
    assert run.code == 2
    assert "agents.max_depth" in run.stderr and "'deep'" in run.stderr
    assert "unknown key" not in run.stderr
    assert not server.log


def test_child_permissions_only_tighten(tmp_path: Path) -> None:
    parent = Permissions(PermissionConfig(tools={"write": "deny"}), tmp_path, allow_all=True)
    child = ChildPermissions(parent, {"write": "allow", "read": "ask", "edit": "deny"})
    subject = PermissionSubject(str(tmp_path / "a.txt"))
    assert child.decide("write", subject) == "deny"  # the parent's deny beats the override
    assert child.decide("read", subject) == "ask"  # stricter than the parent's --yes
    assert child.decide("edit", subject) == "deny"
    assert child.decide("glob", subject) == "allow"
    child.grant_session("read", subject)
    assert child.decide("read", subject) == "ask"  # a grant cannot undo the profile's ask


def test_profiles_merge_builtin_file_and_table(tmp_path: Path) -> None:
    agents = tmp_path / ".opencode" / "agents"
    agents.mkdir(parents=True)
    (agents / "review.md").write_text("---\nmodel: mock/cheap\n---\nBe terse.\n")
    (tmp_path / "opencode.toml").write_text(
        '[agent.review]\nmax_steps = 3\n[agent.scout]\ntools = ["read"]\nprompt = "Scout."\n'
    )
    profiles = load_profiles(load_config(tmp_path), tmp_path)
    review = profiles["review"]
    assert review.model == "mock/cheap" and review.prompt == "Be terse."
    assert review.max_steps == 3 and review.tools == ("read", "grep", "glob", "list")
    assert profiles["scout"].tools == ("read",) and profiles["test"].tools is not None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("---\ntools: [1, 2]\n---\nx", "key tools: expected a list of tool names"),
        ("---\nmodel: gpt\n---\nx", "expected PROVIDER/MODEL"),
        ("---\nmax_steps: 0\n---\nx", "key max_steps"),
        ("---\npermissions:\n  bash: maybe\n---\nx", "permissions.bash"),
        ("---\ntools: read\nnever closed\n", "never closed"),
        ("---\n: : :\n---\nx", "not valid YAML"),
    ],
)
def test_a_bad_profile_file_names_the_file_and_key(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.md"
    path.write_text(content)
    with pytest.raises(ConfigError) as err:
        profile_from_file(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_unknown_key_in_an_agent_table_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "opencode.toml").write_text('[agent.x]\ntols = ["read"]\n')
    with pytest.raises(ConfigError, match="unknown key 'tols'"):
        load_profiles(load_config(tmp_path), tmp_path)


def test_limits_defaults_and_checks(tmp_path: Path) -> None:
    (tmp_path / "opencode.toml").write_text("[agents]\ntimeout = 0.5\n")
    limits = agent_limits(load_config(tmp_path))
    assert (limits.max_parallel, limits.max_depth, limits.timeout) == (4, 2, 0.5)
    (tmp_path / "opencode.toml").write_text("[agents]\nmax_parallel = 0\n")
    with pytest.raises(ConfigError, match="agents.max_parallel"):
        agent_limits(load_config(tmp_path))


def test_agent_commands_list_and_show(tmp_path: Path) -> None:
    agents = tmp_path / ".opencode" / "agents"
    agents.mkdir(parents=True)
    (agents / "scout.md").write_text("---\ndescription: looks around\ntools: [read]\n---\nGo.\n")
    listed = opencode(tmp_path, "agent", "list", "--format", "json")
    assert listed.code == 0, listed.stderr
    names = {p["name"]: p for p in json.loads(listed.stdout)}
    assert set(names) == {"docs", "review", "scout", "test"}
    assert names["scout"]["tools"] == ["read"] and names["scout"]["source"].endswith("scout.md")
    shown = opencode(tmp_path, "agent", "show", "test")
    assert shown.code == 0 and "bash" in shown.stdout
    missing = opencode(tmp_path, "agent", "show", "nope")
    assert missing.code != 0 and "no agent profile 'nope'" in missing.stderr
    assert "scout" in missing.stderr
    (agents / "broken.md").write_text("---\nmax_steps: -1\n---\n")
    broken = opencode(tmp_path, "agent", "list")
    assert broken.code == 2 and "broken.md" in broken.stderr


def test_a_long_answer_is_cut_with_a_note_naming_the_session(tmp_path: Path) -> None:
    long_answer = "x" * 500
    route = _parent_then(lambda body: text(long_answer))
    with RoutingServer(route) as server:
        write_config(tmp_path, "openai", server.url, extra="[agents]\nmax_result_chars = 100\n")
        run = opencode(tmp_path, "run", "--format", "json", "go")
    assert run.code == 0, run.stderr
    parent = run.events()[0]["session_id"]
    result = next(
        e for e in run.events() if e["type"] == "tool_result" and e["session_id"] == parent
    )
    child = query("SELECT id FROM session WHERE parent_id IS NOT NULL")[0]["id"]
    assert result["status"] == "completed"
    assert result["output"].startswith("x" * 100 + "\n\n[cut:")
    assert "has 500 characters" in result["output"] and child in result["output"]


def test_an_unknown_profile_is_refused_without_a_child(tmp_path: Path) -> None:
    with RoutingServer(_parent_then(lambda body: text("never"), agent="nosuch")) as server:
        write_config(tmp_path, "openai", server.url)
        run = opencode(tmp_path, "run", "--format", "json", "go")
    assert run.code == 0, run.stderr
    result = next(e for e in run.events() if e["type"] == "tool_result")
    assert result["status"] == "error"
    assert "no agent profile 'nosuch'" in result["output"] and "review" in result["output"]
    assert not query("SELECT id FROM session WHERE parent_id IS NOT NULL")
    assert not any(e.is_child for e in server.log)
