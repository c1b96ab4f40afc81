"""``task`` end to end: ``opencode run`` as a real subprocess against a loopback server that
answers the parent and its children differently, and the real SQLite file afterwards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.agents.routing_server import (
    RoutingServer,
    first_user,
    last_role,
    server_error,
    task_calls,
    text,
    tool_results,
)
from tests.engine.helpers import opencode, query, write_config
from tests.support.stream_server import Reply


def _two_children(body: dict[str, Any]) -> Reply:
    prompt = first_user(body)
    if prompt.startswith("child-"):
        # Think time before the first byte: if the children ran one after another, the second
        # request would only arrive after the first reply was complete.
        return text(f"answer from {prompt}", first_byte_delay=0.6)
    if last_role(body) == "user":
        return task_calls(("first job", "child-A", None), ("second job", "child-B", "review"))
    return text("parent done: " + " | ".join(tool_results(body)))


def test_two_task_calls_run_children_in_parallel_and_return_in_order(tmp_path: Path) -> None:
    with RoutingServer(_two_children) as server:
        write_config(tmp_path, "openai", server.url)
        run = opencode(tmp_path, "run", "--format", "json", "split the work")
    assert run.code == 0, run.stderr
    events = run.events()
    parent_id = events[0]["session_id"]
    assert "parent_session_id" not in events[0]

    # Both children's model calls were in flight at once.
    children = [entry for entry in server.log if entry.is_child]
    assert sorted(c.first_user for c in children) == ["child-A", "child-B"]
    done = [c.completed_at for c in children]
    assert all(t is not None for t in done)
    assert max(c.received_at for c in children) < min(t for t in done if t is not None)

    # The children are sessions of their own, linked to the parent.
    rows = query("SELECT id, parent_id, title FROM session ORDER BY created_at")
    by_title = {r["title"]: r for r in rows}
    assert by_title["first job"]["parent_id"] == parent_id
    assert by_title["second job"]["parent_id"] == parent_id
    assert query("SELECT parent_id FROM session WHERE id = ?", (parent_id,))[0][0] is None

    # The review child got only the read-only tools; the general one also `task`.
    tools_of = {
        c.first_user: sorted(t["function"]["name"] for t in c.body["tools"]) for c in children
    }
    assert tools_of["child-B"] == ["glob", "grep", "list", "read"]
    assert "task" in tools_of["child-A"] and "bash" in tools_of["child-A"]

    # The parent got both answers (events as each child ends; the model reads call order).
    results = [e for e in events if e["type"] == "tool_result" and e["session_id"] == parent_id]
    by_call = {r["call_id"]: r["output"] for r in results}
    assert by_call == {
        "call_0_child-A": "answer from child-A",
        "call_1_child-B": "answer from child-B",
    }
    last = server.log[-1].body
    assert not server.log[-1].is_child
    assert tool_results(last) == ["answer from child-A", "answer from child-B"]

    # Child events carry the child's session id and the parent link.
    child_ids = {by_title["first job"]["id"], by_title["second job"]["id"]}
    child_events = [e for e in events if e["session_id"] in child_ids]
    assert child_events and all(e["parent_session_id"] == parent_id for e in child_events)
    starts = [e for e in child_events if e["type"] == "session"]
    call_ids = {e["call_id"] for e in events if e["type"] == "tool_call"}
    assert len(starts) == 2 and all(s["parent_call_id"] in call_ids for s in starts)
    texts = "".join(e["text"] for e in child_events if e["type"] == "text")
    assert "answer from child-A" in texts and "answer from child-B" in texts
    finish = [e for e in events if e["type"] == "finish" and e["session_id"] == parent_id]
    assert finish[-1]["reason"] == "stop"


def test_a_child_is_resumable_on_its_own(tmp_path: Path) -> None:
    with RoutingServer(_two_children) as server:
        write_config(tmp_path, "openai", server.url)
        assert opencode(tmp_path, "run", "split the work").code == 0
        child = query("SELECT id FROM session WHERE title = 'first job'")[0]["id"]
        server.route = lambda body: text("resumed child")
        resumed = opencode(tmp_path, "run", "-s", child, "--format", "json", "go on")
    assert resumed.code == 0, resumed.stderr
    assert all(e["session_id"] == child for e in resumed.events())
    sent = server.log[-1].body
    assert [m["content"] for m in sent["messages"] if m["role"] == "user"] == ["child-A", "go on"]


def test_text_output_keeps_child_text_off_stdout(tmp_path: Path) -> None:
    with RoutingServer(_two_children) as server:
        write_config(tmp_path, "openai", server.url)
        run = opencode(tmp_path, "run", "split the work")
    assert run.code == 0, run.stderr
    assert run.stdout.strip().startswith("parent done: answer from child-A | answer from child-B")
    assert run.stdout.count("answer from child-A") == 1  # the child's own stream is not shown
    assert "↳ subagent 'first job'" in run.stderr


def _nest(body: dict[str, Any]) -> Reply:
    if last_role(body) == "tool":
        return text("done after: " + " | ".join(tool_results(body)))
    prompt = first_user(body)
    level = {"nest": 1, "level1": 2, "level2": 3}[prompt]
    return task_calls((f"level {level}", f"level{level}", None))


def test_nesting_past_max_depth_is_refused_as_the_tool_result(tmp_path: Path) -> None:
    with RoutingServer(_nest) as server:
        write_config(tmp_path, "openai", server.url)
        run = opencode(tmp_path, "run", "--format", "json", "nest")
    assert run.code == 0, run.stderr
    rows = {r["title"]: r for r in query("SELECT id, parent_id, title FROM session")}
    assert rows["level 2"]["parent_id"] == rows["level 1"]["id"]
    assert "level 3" not in rows  # depth 2 (the default) is the deepest a child may be
    refusal = [
        e
        for e in run.events()
        if e["type"] == "tool_result" and e["session_id"] == rows["level 2"]["id"]
    ]
    assert refusal[0]["status"] == "error"
    assert "task refused" in refusal[0]["output"] and "max_depth" in refusal[0]["output"]
    assert not any(first_user(e.body) == "level3" for e in server.log)
    final = [e for e in run.events() if e["type"] == "text" and "parent_session_id" not in e]
    assert "done after:" in "".join(e["text"] for e in final)


@pytest.mark.fault
def test_a_failing_child_is_an_error_result_and_the_parent_finishes(tmp_path: Path) -> None:
    def route(body: dict[str, Any]) -> Reply:
        prompt = first_user(body)
        if prompt == "doomed":
            return server_error()
        if prompt == "fine":
            return text("fine answer")
        if last_role(body) == "user":
            return task_calls(("bad", "doomed", None), ("good", "fine", None))
        return text("parent carried on")

    with RoutingServer(route) as server:
        write_config(tmp_path, "openai", server.url)
        run = opencode(tmp_path, "run", "--format", "json", "go")
    assert run.code == 0, run.stderr
    parent = run.events()[0]["session_id"]
    results = [e for e in run.events() if e["type"] == "tool_result" and e["session_id"] == parent]
    # Events come as each child ends; the model reads the results in call order.
    by_call = {r["call_id"]: r for r in results}
    failed, fine = by_call["call_0_doomed"], by_call["call_1_fine"]
    assert failed["status"] == "error" and fine["status"] == "completed"
    assert "failed" in failed["output"] and "500" in failed["output"]
    assert "sk-test-SECRET" not in run.stdout + run.stderr
    assert fine["output"] == "fine answer"
    sent = tool_results(server.log[-1].body)
    assert sent[0] == failed["output"] and sent[1] == "fine answer"
    finish = [e for e in run.events() if e["type"] == "finish" and e["session_id"] == parent]
    assert finish[-1]["reason"] == "stop"
    bad = query("SELECT id FROM session WHERE title = 'bad'")[0]["id"]
    finishes = query(
        "SELECT finish FROM message WHERE session_id = ? AND role = 'assistant'", (bad,)
    )
    assert [f["finish"] for f in finishes] == ["error"]


@pytest.mark.fault
def test_a_child_past_its_deadline_is_stopped_and_reported(tmp_path: Path) -> None:
    def route(body: dict[str, Any]) -> Reply:
        if first_user(body) == "hang":
            return Reply(body=b"", hang=True)
        if last_role(body) == "user":
            return task_calls(("stuck", "hang", None))
        return text("parent after timeout")

    with RoutingServer(route) as server:
        write_config(tmp_path, "openai", server.url, extra="[agents]\ntimeout = 1.5\n")
        run = opencode(tmp_path, "run", "--format", "json", "go")
    assert run.code == 0, run.stderr
    result = next(e for e in run.events() if e["type"] == "tool_result")
    assert result["status"] == "error" and "did not finish within 1.5 s" in result["output"]
    stuck = query("SELECT id FROM session WHERE title = 'stuck'")[0]["id"]
    finishes = query(
        "SELECT finish FROM message WHERE session_id = ? AND role = 'assistant'", (stuck,)
    )
    assert [f["finish"] for f in finishes] == ["interrupted"]
    last = run.events()[-1]
    assert last["type"] == "finish" and last["reason"] == "stop"
    assert "parent_session_id" not in last


@pytest.mark.fault
def test_sigint_mid_run_leaves_the_whole_tree_interrupted(tmp_path: Path) -> None:
    import signal
    import time

    from tests.engine.helpers import spawn

    words = [f"w{i} " for i in range(400)]

    def route(body: dict[str, Any]) -> Reply:
        if first_user(body).startswith("slow-"):
            return text(*words, delay=0.05)
        return task_calls(("one", "slow-1", None), ("two", "slow-2", None))

    with RoutingServer(route) as server:
        write_config(tmp_path, "openai", server.url)
        proc = spawn(tmp_path, "run", "--format", "json", "go")
        assert proc.stdout is not None
        streaming: set[str] = set()
        deadline = time.monotonic() + 30
        while len(streaming) < 2 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            event = json.loads(line)
            if event["type"] == "text" and "parent_session_id" in event:
                streaming.add(event["session_id"])
        assert len(streaming) == 2, "both children should be streaming before the interrupt"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    children = query("SELECT id FROM session WHERE parent_id IS NOT NULL")
    assert {c["id"] for c in children} == streaming
    for child in children:
        rows = query(
            "SELECT finish FROM message WHERE session_id = ? AND role = 'assistant'",
            (child["id"],),
        )
        assert [r["finish"] for r in rows] == ["interrupted"]
        parts = query(
            "SELECT status FROM part WHERE session_id = ? AND kind = 'text'"
            " AND message_id IN (SELECT id FROM message WHERE role = 'assistant')",
            (child["id"],),
        )
        assert parts and all(p["status"] == "interrupted" for p in parts)
    parent = query("SELECT id FROM session WHERE parent_id IS NULL")[0]["id"]
    top = query("SELECT finish FROM message WHERE session_id = ? AND role = 'assistant'", (parent,))
    assert [r["finish"] for r in top] == ["interrupted"]
