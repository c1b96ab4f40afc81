"""What is typed is never lost: Enter during a turn queues the message, typing with focus on a
tool call goes to the prompt, PageUp/PageDown scroll the conversation from the prompt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.tui.widgets.message_views import AssistantMessage, UserMessage
from opencode.tui.widgets.tool_call import ToolCallView
from tests.support.stream_server import StreamServer
from tests.tui.conftest import sse_reply, type_and_send, wait_for


async def test_enter_during_a_turn_queues_the_message_and_sends_it_after(
    make_app: Any, server: StreamServer
) -> None:
    server.add(sse_reply("openai_text.sse", delay=0.3), sse_reply("openai_text.sse"))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "first question")
        await wait_for(pilot, lambda: app.chat.query(AssistantMessage) and app.chat.running)
        await type_and_send(pilot, "second question")
        queued = app.chat.queued
        assert queued.items == ["second question"]
        assert queued.display and "second question" in str(queued.render())
        assert app.chat.prompt.text == ""
        await wait_for(pilot, lambda: len(server.requests) == 2, limit=20)
        await wait_for(pilot, lambda: not app.chat.running and app.chat.status.state == "ready")
        assert not queued.items and not queued.display
        users = [w.text for w in app.chat.query(UserMessage)]
        assert users == ["first question", "second question"]
    assert server.requests[1].json()["messages"][-1]["content"] == "second question"


async def test_queued_message_can_be_taken_back_to_edit(
    make_app: Any, server: StreamServer
) -> None:
    server.add(sse_reply("openai_text.sse", delay=0.3))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "first")
        await wait_for(pilot, lambda: app.chat.query(AssistantMessage) and app.chat.running)
        await type_and_send(pilot, "typo'd follow-up")
        await pilot.press("up")  # empty prompt: the queued message comes back to be edited
        assert app.chat.prompt.text == "typo'd follow-up"
        assert not app.chat.queued.items
        app.chat.prompt.clear()  # deleting it cancels it
        await wait_for(pilot, lambda: not app.chat.running, limit=20)
        await pilot.pause(0.2)
    assert len(server.requests) == 1


async def test_escape_hands_the_queue_back_to_the_prompt(
    make_app: Any, server: StreamServer
) -> None:
    server.add(sse_reply("openai_text.sse", delay=0.5))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "slow one")
        await wait_for(pilot, lambda: app.chat.query(AssistantMessage) and app.chat.running)
        await type_and_send(pilot, "queued one")
        await pilot.press("d", "r", "a", "f", "t")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.chat.running)
        await wait_for(pilot, lambda: app.chat.prompt.text != "draft")
        assert app.chat.prompt.text == "queued one\n\ndraft"
        assert not app.chat.queued.items
    assert len(server.requests) == 1


async def test_typing_after_expanding_a_tool_call_goes_to_the_prompt(
    make_app: Any, server: StreamServer, project: Path
) -> None:
    server.add(sse_reply("openai_step1_edit_call.sse"), sse_reply("openai_step2_final.sse"))
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await type_and_send(pilot, "Change world to there")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        view = app.chat.query_one(ToolCallView)
        await pilot.click(view)
        assert view.expanded
        # Keyboard users reach it with Tab: the focus trap the user hit.
        view.focus()
        await pilot.pause()
        await pilot.press("h", "i")
        assert app.chat.prompt.has_focus
        assert app.chat.prompt.text == "hi"
        server.add(sse_reply("openai_text.sse"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(server.requests) == 3)


async def test_clicking_a_tool_call_keeps_the_focus_on_the_prompt(
    make_app: Any, server: StreamServer, project: Path
) -> None:
    server.add(sse_reply("openai_step1_edit_call.sse"), sse_reply("openai_step2_final.sse"))
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await type_and_send(pilot, "Change world to there")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        view = app.chat.query_one(ToolCallView)
        await pilot.click(view)
        assert view.expanded
        assert app.chat.prompt.has_focus


async def test_page_keys_scroll_the_transcript_from_the_prompt(make_app: Any) -> None:
    from opencode.tui.widgets.command_output import CommandOutput

    app = make_app(open_session=False)
    async with app.run_test(size=(80, 20)) as pilot:
        transcript = app.chat.transcript
        for index in range(30):
            transcript.add_output(CommandOutput(f"/line {index}", "x\ny\nz"))
        await pilot.pause()
        await wait_for(pilot, lambda: transcript.max_scroll_y > 0)
        transcript.scroll_end(animate=False)
        await pilot.pause()
        bottom = transcript.scroll_y
        assert app.chat.prompt.has_focus
        await pilot.press("pageup")
        await wait_for(pilot, lambda: transcript.scroll_y < bottom)
        await pilot.press("pagedown")
        await wait_for(pilot, lambda: transcript.scroll_y == bottom)
        assert app.chat.prompt.has_focus


async def test_ctrl_c_interrupts_the_turn_then_twice_quits(
    make_app: Any, server: StreamServer
) -> None:
    server.add(sse_reply("openai_text.sse", delay=0.5))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "slow one")
        await wait_for(pilot, lambda: app.chat.query(AssistantMessage) and app.chat.running)
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app.chat.status.state == "interrupted")
        assert app.is_running
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running  # one press with nothing running only says how to quit
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: not app.is_running)
