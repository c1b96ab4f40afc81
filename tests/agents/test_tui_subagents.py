"""The TUI shows each subagent as a nested, live, expandable block inside the parent's ``task``
call, and a child's events never land in the parent's transcript or status bar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.agents.routing_server import (
    RoutingServer,
    first_user,
    last_role,
    task_calls,
    text,
    tool_results,
)
from tests.support.stream_server import Reply


def _route(body: dict[str, Any]) -> Reply:
    prompt = first_user(body)
    if prompt.startswith("child-"):
        return text("child ", f"says {prompt}", first_byte_delay=0.2)
    if last_role(body) == "user":
        return task_calls(("look around", "child-A", None), ("check tests", "child-B", "test"))
    return text("parent: " + " | ".join(tool_results(body)))


async def test_children_show_nested_in_the_task_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencode.sessions.config import load_config
    from opencode.tui.app import OpencodeApp
    from opencode.tui.widgets.markdown_stream import StreamingMarkdown
    from opencode.tui.widgets.subagent import SubagentView
    from opencode.tui.widgets.tool_call import ToolCallView
    from tests.engine.helpers import write_config
    from tests.tui.conftest import type_and_send, wait_for

    with RoutingServer(_route) as server:
        config_path = write_config(tmp_path, "openai", server.url)
        monkeypatch.setenv("OPENCODE_CONFIG", str(config_path))
        app = OpencodeApp(config=load_config(tmp_path), cwd=tmp_path)
        async with app.run_test(size=(100, 40)) as pilot:
            await type_and_send(pilot, "split it")
            await wait_for(pilot, lambda: app.chat.status.state == "ready" and not app.chat.running)
            await pilot.pause(0.2)
            calls = [v for v in app.chat.query(ToolCallView) if v.tool == "task"]
            assert len(calls) == 2
            views = {v.title: v for v in app.chat.query(SubagentView)}
            assert set(views) == {"look around", "check tests"}
            for call in calls:
                nested = list(call.query(SubagentView))
                assert len(nested) == 1  # each child inside its own call's widget
            child = views["look around"]
            assert child.status == "completed"
            assert "says child-A" in child.header_text().plain
            child.focus()
            await pilot.press("enter")
            assert child.expanded and "child says child-A" in child.transcript_text()
            # The parent's transcript and status bar are the parent's alone.
            assert app.chat.status.title == "split it"
            shown = " ".join(w.text for w in app.chat.transcript.query(StreamingMarkdown))
            assert "parent: child says child-A | child says child-B" in shown
            assert shown.count("child says child-A") == 1  # not streamed into the parent too


@pytest.mark.fault
async def test_escape_cancels_the_whole_tree_and_saves_children_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencode.sessions.config import load_config
    from opencode.tui.app import OpencodeApp
    from opencode.tui.widgets.subagent import SubagentView
    from tests.engine.helpers import query, write_config
    from tests.tui.conftest import type_and_send, wait_for

    words = [f"w{i} " for i in range(600)]

    def route(body: dict[str, Any]) -> Reply:
        if first_user(body).startswith("slow-"):
            return text(*words, delay=0.05)
        return task_calls(("one", "slow-1", None), ("two", "slow-2", None))

    with RoutingServer(route) as server:
        config_path = write_config(tmp_path, "openai", server.url)
        monkeypatch.setenv("OPENCODE_CONFIG", str(config_path))
        app = OpencodeApp(config=load_config(tmp_path), cwd=tmp_path)
        async with app.run_test(size=(100, 40)) as pilot:
            await type_and_send(pilot, "go")

            def both_streaming() -> bool:
                views = list(app.chat.query(SubagentView))
                return len(views) == 2 and all("w3" in v.text for v in views)

            await wait_for(pilot, both_streaming)
            app.chat.prompt.focus()
            await pilot.press("escape")
            await wait_for(pilot, lambda: not app.chat.running)
            await app.engine.flush()
            await pilot.pause(0.2)
            views = list(app.chat.query(SubagentView))
            assert all(v.status == "interrupted" for v in views)
    children = query("SELECT id FROM session WHERE parent_id IS NOT NULL")
    assert len(children) == 2
    for child in children:
        rows = query(
            "SELECT finish FROM message WHERE session_id = ? AND role = 'assistant'",
            (child["id"],),
        )
        assert [r["finish"] for r in rows] == ["interrupted"]
