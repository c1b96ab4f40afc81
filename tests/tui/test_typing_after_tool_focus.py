"""Typing fast with a tool call focused (after Tab or a click): every key reaches the prompt,
spaces included, and the tool call does not toggle. The first key moved focus only later
(``Widget.focus`` is deferred), so the keys already queued behind it still went to the tool
call: a space expanded it and was lost ("a b c" arrived as "abc")."""

from __future__ import annotations

from typing import Any

from textual import events

from opencode.tui.widgets.tool_call import ToolCallView


async def test_keys_queued_behind_the_first_all_reach_the_prompt(make_app: Any) -> None:
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        view = ToolCallView("bash", {"command": "ls"}, call_id="c_focus", status="completed")
        await app.chat.transcript.mount(view)
        view.focus()
        await pilot.pause()
        assert app.focused is view
        # As a terminal delivers a fast burst: all keys queued before any is handled.
        for char in "a b c":
            key = events.Key("space" if char == " " else char, char)
            key.set_sender(app)
            app._driver.send_message(key)  # as Pilot.press does, without waiting in between
        await pilot.pause()
        await pilot.pause()
        assert app.chat.prompt.text == "a b c"
        assert not view.expanded


async def test_space_on_a_focused_tool_call_still_expands_it(make_app: Any) -> None:
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        view = ToolCallView("bash", {"command": "ls"}, call_id="c_space", status="completed")
        await app.chat.transcript.mount(view)
        view.focus()
        await pilot.pause()
        await pilot.press("space")
        assert view.expanded and app.chat.prompt.text == ""
