"""Tool calls in the transcript and the permission modal, against real tools on a temp project."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from opencode.tui.widgets.tool_call import ToolCallView
from tests.support.stream_server import StreamServer
from tests.tui.conftest import sse_reply, type_and_send, wait_for

ASK_EDIT = '[permission]\nedit = "ask"\n'


def decisions(app: Any) -> list[tuple[str, str]]:
    conn = sqlite3.connect(app.config.db_path)
    try:
        return [tuple(r) for r in conn.execute("SELECT tool, decision FROM permission_decision")]
    finally:
        conn.close()


async def test_tool_call_allowed_once_runs_and_expands_to_diff(
    make_app: Any, server: StreamServer, project: Path
) -> None:
    from opencode.tui.screens.permission import PermissionScreen

    server.add(sse_reply("openai_step1_edit_call.sse"), sse_reply("openai_step2_final.sse"))
    app = make_app(extra=ASK_EDIT)
    async with app.run_test(size=(100, 32)) as pilot:
        await type_and_send(pilot, "Change world to there")
        await wait_for(pilot, lambda: isinstance(app.screen, PermissionScreen))
        assert app.screen.tool == "edit"
        assert "hello.txt" in app.screen.subject
        await wait_for(pilot, lambda: app.screen.armed)
        await pilot.press("a")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        view = app.chat.query_one(ToolCallView)
        assert view.status == "completed"
        assert view.mark == "✓"
        assert "hello.txt" in view.header_text().plain
        assert view.duration_ms is not None
        assert not view.expanded
        view.focus()
        await pilot.press("enter")
        assert view.expanded
        body = view.query_one(".tool-body")
        assert body.display
        rendered = app.chat.query_one(".tool-body").render()
        assert rendered is not None
        assert "+hello there" in view.metadata["diff"]
    assert (project / "hello.txt").read_text() == "hello there\n"
    assert decisions(app) == [("edit", "allow_once")]


async def test_tool_call_denied_is_marked_and_file_untouched(
    make_app: Any, server: StreamServer, project: Path
) -> None:
    from opencode.tui.screens.permission import PermissionScreen

    server.add(sse_reply("openai_step1_edit_call.sse"), sse_reply("openai_step2_final.sse"))
    app = make_app(extra=ASK_EDIT)
    async with app.run_test(size=(100, 32)) as pilot:
        await type_and_send(pilot, "Change world to there")
        await wait_for(pilot, lambda: isinstance(app.screen, PermissionScreen))
        await wait_for(pilot, lambda: app.screen.armed)
        await pilot.press("d")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        view = app.chat.query_one(ToolCallView)
        assert view.status == "denied"
        assert view.has_class("-denied")
        assert view.permission == "denied by you"  # was "deny: deny" (issue 17, item 8)
        assert "Permission denied" in view.header_text().plain
    assert (project / "hello.txt").read_text() == "hello world\n"
    assert decisions(app) == [("edit", "deny")]


async def test_allow_for_session_is_persisted_and_reapplied_on_resume(
    make_app: Any, server: StreamServer, project: Path
) -> None:
    from opencode.tui.screens.permission import PermissionScreen

    server.add(sse_reply("openai_step1_edit_call.sse"), sse_reply("openai_step2_final.sse"))
    app = make_app(extra=ASK_EDIT)
    async with app.run_test(size=(100, 32)) as pilot:
        await type_and_send(pilot, "Change world to there")
        await wait_for(pilot, lambda: isinstance(app.screen, PermissionScreen))
        await wait_for(pilot, lambda: app.screen.armed)
        # No one-letter key for a session-wide grant: move to its button and press it.
        await pilot.press("right", "enter")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
    assert decisions(app) == [("edit", "allow_session")]
    (project / "hello.txt").write_text("hello world\n")
    server.add(sse_reply("openai_step1_edit_call.sse"), sse_reply("openai_step2_final.sse"))
    resumed = make_app(extra=ASK_EDIT, continue_latest=True)
    async with resumed.run_test(size=(100, 32)) as pilot:
        # The earlier tool call is shown from the store, finished.
        await wait_for(pilot, lambda: resumed.chat.query(ToolCallView))
        assert resumed.chat.query(ToolCallView).first().status == "completed"
        await type_and_send(pilot, "Again")
        await wait_for(pilot, lambda: len(resumed.chat.query(ToolCallView)) == 2)
        await wait_for(pilot, lambda: resumed.chat.status.state == "ready")
        assert not isinstance(resumed.screen, PermissionScreen)
        assert resumed.chat.query(ToolCallView).last().status == "completed"
    assert (project / "hello.txt").read_text() == "hello there\n"


async def test_enter_after_a_pause_chooses_nothing_until_a_button_is_picked(
    make_app: Any, server: StreamServer, project: Path
) -> None:
    """Someone types a message, pauses while the modal opens, then presses Enter to send: the
    modal is armed by then, and Enter on the focused "Allow once" used to grant the call."""
    from opencode.tui.screens.permission import PermissionScreen

    server.add(sse_reply("openai_step1_edit_call.sse"), sse_reply("openai_step2_final.sse"))
    app = make_app(extra=ASK_EDIT)
    async with app.run_test(size=(100, 32)) as pilot:
        await type_and_send(pilot, "Change world to there")
        await wait_for(pilot, lambda: isinstance(app.screen, PermissionScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.armed)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen  # still asking
        assert decisions(app) == []
        assert (project / "hello.txt").read_text() == "hello world\n"
        # A move between the buttons makes Enter a choice: back to "Allow once" and press it.
        await pilot.press("right", "left", "enter")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
    assert decisions(app) == [("edit", "allow_once")]


async def test_stray_typing_does_not_answer_the_permission_modal(
    make_app: Any, server: StreamServer, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17: the user keeps typing ("list files", Enter...) as the modal opens. Keys that
    arrive while it is new are ignored, "s" grants nothing, and only a key after a pause
    answers it."""
    from opencode.tui.screens.permission import PermissionScreen

    # The stray keys must arrive faster than the arming pause, as a person's typing does;
    # on a loaded machine the pilot can take longer than 0.5 s between two presses.
    monkeypatch.setattr(PermissionScreen, "ARMING_S", 3.0)

    server.add(sse_reply("openai_step1_edit_call.sse"), sse_reply("openai_step2_final.sse"))
    app = make_app(extra=ASK_EDIT)
    async with app.run_test(size=(100, 32)) as pilot:
        await type_and_send(pilot, "Change world to there")
        await wait_for(pilot, lambda: isinstance(app.screen, PermissionScreen))
        modal = app.screen
        await pilot.press(*"list files", "enter", "a", "s", "d", "escape")
        assert app.screen is modal and not modal.armed
        assert decisions(app) == []
        await wait_for(pilot, lambda: modal.armed)
        await pilot.press("s")  # armed, but "s" is not a key of this modal any more
        assert app.screen is modal
        await pilot.press("d")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        view = app.chat.query_one(ToolCallView)
        assert view.status == "denied"
    assert (project / "hello.txt").read_text() == "hello world\n"
    assert decisions(app) == [("edit", "deny")]  # the deliberate answer, and only that


async def test_escape_during_a_running_tool_marks_it_interrupted(
    make_app: Any, server: StreamServer
) -> None:
    from tests.engine.helpers import openai_sse
    from tests.support.stream_server import Reply

    call = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "test-model",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_sleep",
                            "type": "function",
                            "function": {
                                "name": "bash",
                                "arguments": '{"command": "sleep 20"}',
                            },
                        }
                    ]
                },
                "finish_reason": "tool_calls",
            }
        ],
    }
    server.add(Reply(body=openai_sse(call), headers={"content-type": "text/event-stream"}))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "Wait a bit")
        await wait_for(pilot, lambda: app.chat.query(ToolCallView))
        view = app.chat.query_one(ToolCallView)
        assert view.status == "running"
        assert "sleep 20" in view.header_text().plain
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.chat.running, limit=10)
        await wait_for(pilot, lambda: view.status != "running")
        assert view.mark in ("■", "✗")
    conn = sqlite3.connect(app.config.db_path)
    try:
        finishes = [r[0] for r in conn.execute("SELECT finish FROM message WHERE role='assistant'")]
    finally:
        conn.close()
    assert finishes == ["interrupted"]


async def test_a_command_that_exits_non_zero_is_marked_failed_with_its_code(
    make_app: Any,
) -> None:
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        view = ToolCallView("bash", {"command": "make check"}, call_id="c1")
        await app.chat.transcript.mount(view)
        await pilot.pause()
        check_exit_mark(view)


def check_exit_mark(view: ToolCallView) -> None:
    view.finish("completed", "[exit code 2]", 12, {"exit_code": 2, "sandbox": True})
    header = view.header_text().plain
    assert view.mark == "✗"
    assert "exit 2" in header
    assert view.has_class("-error")
    view.finish("completed", "[exit code 0]", 12, {"exit_code": 0})
    assert view.mark == "✓"
    assert "exit" not in view.header_text().plain


def test_permission_tags_read_as_words() -> None:
    from opencode.tui.widgets.tool_call import permission_tag

    assert permission_tag("deny", "deny") == "denied by you"
    assert permission_tag("allow", "allow_once") == "allowed once"
    assert permission_tag("allow", "allow_session") == "allowed for this session"
    assert permission_tag("deny", "config") == "denied by config"
    fail = "not asked (--on-ask fail)"
    assert permission_tag("deny", fail) == f"denied: {fail}"


async def test_permission_buttons_fit_a_small_terminal(make_app: Any) -> None:
    from textual.widgets import Button

    from opencode.tui.screens.permission import PermissionScreen

    app = make_app(open_session=False)
    async with app.run_test(size=(60, 15)) as pilot:
        arguments = {"path": "hello.txt", "old": "x\n" * 40, "new": "y\n" * 40}
        app.push_screen(PermissionScreen("edit", "edit hello.txt", arguments))
        await pilot.pause(0.2)
        screen = app.screen
        buttons = list(screen.query(Button))
        assert len(buttons) == 3
        for button in buttons:
            region = button.region
            assert region.height >= 1 and region.width > 4
            assert screen.region.contains_region(region), (button.id, region)
            assert screen.get_widget_at(region.x + 1, region.y)[0] is button  # not covered
