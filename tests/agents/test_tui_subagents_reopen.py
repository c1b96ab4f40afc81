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
