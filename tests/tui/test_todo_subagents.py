"""A subagent's todo list: its own session's, and shown in the parent's todo panel while the
parent's turn runs (a loopback server that answers the parent and the child differently)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.agents.routing_server import RoutingServer, first_user, last_role, task_calls, text
from tests.agents.routing_server import tool_calls as calls_reply
from tests.engine.helpers import query
from tests.support.stream_server import Reply
from tests.tui.conftest import type_and_send, wait_for

CHILD_PLAN = [
    {"content": "Read parser.py", "status": "completed"},
    {"content": "Find the off-by-one", "status": "in_progress"},
]
release_child = threading.Event()


def route(body: dict[str, Any]) -> Reply:
    if first_user(body).startswith("child-"):
        if last_role(body) == "user":
            return calls_reply(("c_todo", "todowrite", {"todos": CHILD_PLAN}))
        # The child ends only once the test has seen its list in the parent's panel.
        release_child.wait(20)
        return text("found it")
    if last_role(body) == "user":
        return task_calls(("check the parser", "child-A", None))
    return text("parent done")


@pytest.fixture
def server() -> Iterator[RoutingServer]:
    release_child.clear()
    server = RoutingServer(route)
    server.start()
    try:
        yield server
    finally:
        release_child.set()
        server.stop()


async def test_the_parent_panel_shows_a_running_subagents_list(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.chat.todos
        await type_and_send(pilot, "Look into the parser")
        await wait_for(pilot, lambda: panel.shown)
        text_now = panel.render_list().plain
        assert "↳ check the parser  1/2 done" in text_now
        assert "◐ Find the off-by-one" in text_now
        assert panel.todos == []  # the parent's own list is untouched
        release_child.set()
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        assert not panel.shown  # the turn is over: the subagent's line went with it
        parent_id = app.chat.transcript.session_id
    rows = query("SELECT session_id, content FROM todo ORDER BY position")
    assert [r["content"] for r in rows] == ["Read parser.py", "Find the off-by-one"]
    child = query("SELECT parent_id FROM session WHERE id = ?", (rows[0]["session_id"],))
    assert child[0]["parent_id"] == parent_id
