"""Reopening a session shows its subagents as the live turn did: each child session nested in
its parent's ``task`` call, collapsed, with its status and the tail of its answer, and its
transcript (tool calls, text) when expanded."""

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
    tool_calls,
    tool_results,
)
from tests.support.stream_server import Reply


def _route(body: dict[str, Any]) -> Reply:
    prompt = first_user(body)
    if prompt == "child-A":
        if last_role(body) == "user":
            return tool_calls(
                ("call_read_child", "read", {"path": "notes.txt"})
            )  # inside the child
        return text("child A read ", "the notes: all fine")
    if prompt == "child-B":
        return text("child B ", "says hello")
    if last_role(body) == "user":
        return task_calls(("look around", "child-A", None), ("say hi", "child-B", None))
    return text("parent: " + " | ".join(tool_results(body)))


async def test_reopened_session_shows_its_subagents_nested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencode.sessions.config import load_config
    from opencode.tui.app import OpencodeApp
    from opencode.tui.widgets.subagent import SubagentView
    from opencode.tui.widgets.tool_call import ToolCallView
    from tests.engine.helpers import write_config
    from tests.tui.conftest import send_turn, wait_for

    (tmp_path / "notes.txt").write_text("the notes\n", encoding="utf-8")

    def shown(app: Any) -> dict[str, tuple[str, str, str, str]]:
        """title -> (status, header, expanded transcript, the task call's key argument)."""
        found = {}
        for call in app.chat.query(ToolCallView):
            if call.tool != "task":
                continue
            (view,) = call.query(SubagentView)  # nested in its own call, nowhere else
            found[view.title] = (
                view.status,
                view.header_text().plain,
                view.transcript_text(),
                call.arguments["description"],
            )
        return found

    with RoutingServer(_route) as server:
        config_path = write_config(tmp_path, "openai", server.url)
        monkeypatch.setenv("OPENCODE_CONFIG", str(config_path))
        live = OpencodeApp(config=load_config(tmp_path), cwd=tmp_path)
        async with live.run_test(size=(100, 40)) as pilot:
            await send_turn(pilot, "split it")
            await pilot.pause(0.2)
            before = shown(live)
            session_id = live.chat.transcript.session_id
        assert set(before) == {"look around", "say hi"}

        reopened = OpencodeApp(config=load_config(tmp_path), cwd=tmp_path, session_id=session_id)
        async with reopened.run_test(size=(100, 40)) as pilot:
            await wait_for(pilot, lambda: len(shown(reopened)) == 2)
            after = shown(reopened)
            views = {v.title: v for v in reopened.chat.query(SubagentView)}
            assert all(not v.expanded for v in views.values())  # collapsed, as live
            child = views["look around"]
            child.focus()
            await pilot.press("enter")
            assert child.expanded
    assert after["look around"][0] == after["say hi"][0] == "completed"
    assert "child A read the notes: all fine" in after["look around"][1]
    assert "child B says hello" in after["say hi"][1]
    expanded = after["look around"][2]
    assert "→ read notes.txt" in expanded and "✓ read" in expanded
    assert "child A read the notes: all fine" in expanded
    assert "child-A" not in expanded  # the child's own prompt is not its answer
    # What the live turn showed once it had ended, the reopened session shows again.
    assert {k: v[:2] for k, v in after.items()} == {k: v[:2] for k, v in before.items()}


@pytest.mark.fault
async def test_reopened_session_shows_a_subagent_interrupted_before_its_call_stored_a_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Esc while the subagent streams: the task call stores no result naming the child, so
    the store's parent call id is what links them when the session is reopened."""
    from opencode.sessions.config import load_config
    from opencode.tui.app import OpencodeApp
    from opencode.tui.widgets.subagent import SubagentView
    from opencode.tui.widgets.tool_call import ToolCallView
    from tests.engine.helpers import query, write_config
    from tests.tui.conftest import type_and_send, wait_for

    words = [f"w{i} " for i in range(600)]

    def route(body: dict[str, Any]) -> Reply:
        if first_user(body) == "slow-1":
            return text(*words, delay=0.05)
        return task_calls(("dig", "slow-1", None))

    with RoutingServer(route) as server:
        config_path = write_config(tmp_path, "openai", server.url)
        monkeypatch.setenv("OPENCODE_CONFIG", str(config_path))
        live = OpencodeApp(config=load_config(tmp_path), cwd=tmp_path)
        async with live.run_test(size=(100, 40)) as pilot:
            await type_and_send(pilot, "go")
            await wait_for(
                pilot, lambda: any("w3" in v.text for v in live.chat.query(SubagentView))
            )
            live.chat.prompt.focus()
            await pilot.press("escape")
            await wait_for(pilot, lambda: not live.chat.running)
            await live.engine.flush()
            session_id = live.chat.transcript.session_id
        calls = query(
            "SELECT tool_call_id FROM part WHERE session_id = ? AND tool_name = 'task'"
            " AND kind = 'tool_call'",
            (session_id,),
        )
        assert len(calls) == 1
        results = query(
            "SELECT id FROM part WHERE kind = 'tool_result' AND tool_call_id = ?",
            (calls[0]["tool_call_id"],),
        )
        assert results == []  # the path under test: no result names the child

        reopened = OpencodeApp(config=load_config(tmp_path), cwd=tmp_path, session_id=session_id)
        async with reopened.run_test(size=(100, 40)) as pilot:

            def nested() -> list[Any]:
                return [
                    view
                    for call in reopened.chat.query(ToolCallView)
                    if call.tool == "task"
                    for view in call.query(SubagentView)
                ]

            await wait_for(pilot, lambda: len(nested()) == 1)
            (view,) = nested()
            assert view.title == "dig"
            assert view.status == "interrupted"
            assert "w0 w1 w2 w3" in view.transcript_text()
