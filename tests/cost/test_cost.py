"""Cost and the answering model, end to end: real ``opencode run`` subprocesses against
loopback servers, the real SQLite file read back afterwards."""

from __future__ import annotations

import json
from pathlib import Path

from opencode.sessions.providers.resilience.settings import Price
from tests.engine.helpers import fixture, opencode, query
from tests.resilience.helpers import dead_url
from tests.support.stream_server import Reply, StreamServer

PRICE_B = Price(2.0, 8.0)  # per million tokens


def _config(project: Path, primary: str, fallback: str, extra_a: str = "") -> None:
    project.mkdir(parents=True, exist_ok=True)
    (project / "opencode.toml").write_text(
        'model = "a/m1"\n'
        f'[provider.a]\napi = "openai"\nbase_url = "{primary}/v1"\napi_key = "sk-a"\n'
        f'max_retries = 0\ntimeout = 5\nfallback = ["b/m2"]\n{extra_a}\n'
        '[provider.a.price."m1"]\ninput = 1.0\noutput = 1.0\n'
        f'[provider.b]\napi = "openai"\nbase_url = "{fallback}/v1"\napi_key = "sk-b"\n'
        "max_retries = 0\ntimeout = 5\n"
        '[provider.b.price."m2"]\ninput = 2.0\noutput = 8.0\n',
        encoding="utf-8",
    )


def test_fallback_answer_is_recorded_with_its_model_and_its_price(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    stream_server.add(
        Reply(body=fixture("openai_text.sse")), Reply(body=fixture("openai_text.sse"))
    )
    project = tmp_path / "p"
    _config(project, dead_url(), stream_server.url)

    run = opencode(project, "run", "--format", "json", "hi")

    assert run.code == 0, run.stderr
    (finish,) = run.of_type("finish")
    expected = PRICE_B.cost(19, 10)  # the fixture's usage, at b's price
    assert finish["model"] == "b/m2"
    assert abs(finish["cost"] - expected) < 1e-12
    (message,) = query("SELECT model, cost FROM message WHERE role = 'assistant'")
    assert message["model"] == "b/m2"
    assert abs(message["cost"] - expected) < 1e-12
    (session,) = query("SELECT cost FROM session")
    assert abs(session["cost"] - expected) < 1e-12

    text = opencode(project, "run", "-c", "again?")
    assert "answered by b/m2 (a/m1 failed: connect)" in text.stderr, text.stderr
    assert text.stderr.count("answered by") == 1
    (session,) = query("SELECT cost FROM session")
    assert abs(session["cost"] - 2 * expected) < 1e-12  # the session adds up its messages

    shown = opencode(project, "session", "show", finish["session_id"], "--format", "json")
    data = json.loads(shown.stdout)
    assert [m["model"] for m in data["messages"] if m["role"] == "assistant"] == ["b/m2"] * 2
    listed = opencode(project, "session", "list")
    assert "COST" in listed.stdout and f"{2 * expected:.4f}" in listed.stdout


def test_max_cost_stops_after_the_step_that_crossed_it(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    # step 1 asks to read a file (412 in / 17 out); it alone costs more than the limit
    stream_server.add(Reply(body=fixture("openai_tool_call.sse")))
    project = tmp_path / "p"
    project.mkdir()
    (project / "opencode.toml").write_text(
        'model = "b/m2"\n'
        f'[provider.b]\napi = "openai"\nbase_url = "{stream_server.url}/v1"\n'
        'api_key = "sk-b"\nmax_retries = 0\n'
        '[provider.b.price."m2"]\ninput = 2.0\noutput = 8.0\n',
        encoding="utf-8",
    )
    (project / "README.md").write_text("hello\n", encoding="utf-8")

    run = opencode(project, "run", "--format", "json", "--yes", "--max-cost", "0.0001", "go")

    assert run.code == 4, run.stderr
    (finish,) = run.of_type("finish")
    assert finish["reason"] == "max_cost" and finish["steps"] == 1
    assert finish["cost"] > 0.0001
    assert len(stream_server.requests) == 1  # no second model call
    rows = query("SELECT finish, cost FROM message WHERE role = 'assistant'")
    assert [r["finish"] for r in rows] == ["tool_calls"]  # the step is saved whole
    assert rows[0]["cost"] == finish["cost"]

    stream_server.add(Reply(body=fixture("openai_tool_call.sse")))
    text = opencode(project, "run", "--yes", "--max-cost", "0.0001", "go")
    assert text.code == 4
    assert "--max-cost" in text.stderr


def test_max_cost_without_a_price_is_refused_before_anything_is_sent(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "opencode.toml").write_text(
        'model = "r/m"\n[provider.r]\napi = "openai"\nbase_url = "https://llm.example.com/v1"\n'
        'api_key = "sk-r"\n',
        encoding="utf-8",
    )
    run = opencode(project, "run", "--max-cost", "1", "hi")
    assert run.code == 2
    assert "r/m has no known price" in run.stderr and '[provider.r.price."m"]' in run.stderr
    assert not stream_server.requests

    free_only = opencode(project, "run", "--max-cost", "0", "hi")
    assert free_only.code == 2 and "has no known price" in free_only.stderr

    bad = opencode(project, "run", "--max-cost", "-1", "hi")
    assert bad.code == 2 and "0 or more" in bad.stderr


def test_max_cost_counts_what_the_turns_subagents_spent(tmp_path: Path) -> None:
    from typing import Any

    from tests.agents.routing_server import RoutingServer, first_user, last_role, task_calls, text
    from tests.engine.helpers import write_config

    def route(body: dict[str, Any]) -> Reply:
        if first_user(body).startswith("child-"):
            return text("child answer")  # 11 in + 1 out
        if last_role(body) == "user":
            return task_calls(("a job", "child-A", None))  # 20 in + 5 out
        return text("parent goes on")

    # 1000 per million tokens: the parent's step costs 0.025, the child's call 0.012
    price = '[provider.mock.price."test-model"]\ninput = 1000\noutput = 1000\n'
    with RoutingServer(route) as server:
        write_config(tmp_path, "openai", server.url, price)
        run = opencode(tmp_path, "run", "--format", "json", "--max-cost", "0.03", "go")
        parent_calls = [e for e in server.log if not e.is_child]
    assert run.code == 4, run.stderr
    finish = [e for e in run.of_type("finish") if "parent_session_id" not in e]
    assert finish[0]["reason"] == "max_cost"
    assert abs(finish[0]["cost"] - 0.037) < 1e-9  # the parent's step and its child's call
    assert len(parent_calls) == 1  # the parent never made its second call
