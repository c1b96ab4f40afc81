"""``--max-cost`` covers a turn's subagents: a child draws from what the parent turn has left
and starts no step once the tree has spent it (real ``opencode run``, a loopback server that
reports usage, a configured price)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.agents.routing_server import (
    RoutingServer,
    first_user,
    last_role,
    task_calls,
    text,
    tool_calls,
)
from tests.engine.helpers import opencode, query, write_config
from tests.support.stream_server import Reply

# 1000 per million tokens: a tool-call step (20 in + 5 out) costs 0.025, a text one (11 + 1)
# 0.012.
PRICE = '[provider.mock.price."test-model"]\ninput = 1000\noutput = 1000\n'


def _child_reads_then_answers(body: dict[str, Any]) -> Reply:
    if first_user(body).startswith("child-"):
        if last_role(body) == "user":
            return tool_calls(("call_r", "read", {"path": "README.md"}))  # child step 1
        return text("child answer")  # child step 2
    if last_role(body) == "user":
        return task_calls(("a job", "child-A", None))
    return text("parent goes on")


def test_a_child_stops_starting_steps_once_the_turns_budget_is_spent(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("hello\n", encoding="utf-8")
    with RoutingServer(_child_reads_then_answers) as server:
        write_config(tmp_path, "openai", server.url, PRICE)
        # the parent's step (0.025) leaves 0.015; the child's first step (0.025) spends it
        run = opencode(tmp_path, "run", "--format", "json", "--max-cost", "0.04", "go")
        child_calls = [e for e in server.log if e.is_child]
        parent_calls = [e for e in server.log if not e.is_child]
    assert run.code == 4, run.stderr
    assert len(child_calls) == 1  # without the shared budget the child makes its second call
    assert len(parent_calls) == 1
    finishes = run.of_type("finish")
    (child,) = [e for e in finishes if "parent_session_id" in e]
    (parent,) = [e for e in finishes if "parent_session_id" not in e]
    assert child["reason"] == "max_cost" and child["steps"] == 1
    assert parent["reason"] == "max_cost"
    assert abs(parent["cost"] - 0.05) < 1e-9  # the parent reports the whole tree's cost
    # what the parent's model was told about its subagent
    results = query("SELECT content FROM part WHERE kind = 'tool_result'")
    told = [r["content"] for r in results if "cost limit" in (r["content"] or "")]
    assert told and "--max-cost 0.04" in told[0], [r["content"] for r in results]


def test_a_child_started_after_the_budget_is_spent_makes_no_call(tmp_path: Path) -> None:
    with RoutingServer(_child_reads_then_answers) as server:
        write_config(tmp_path, "openai", server.url, PRICE)
        # the parent's own step (0.025, with the task call) already crosses 0.02
        run = opencode(tmp_path, "run", "--format", "json", "--max-cost", "0.02", "go")
        child_calls = [e for e in server.log if e.is_child]
    assert run.code == 4, run.stderr
    assert child_calls == []
    (child,) = [e for e in run.of_type("finish") if "parent_session_id" in e]
    assert child["reason"] == "max_cost" and child["steps"] == 0
