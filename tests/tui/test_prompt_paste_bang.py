"""A pasted block that starts with ``!`` (a markdown image, a note, a Jupyter cell) does not run
as a shell command on the first Enter: the user is told, and a second Enter runs it. A ``!``
typed by hand, or recalled from history, runs at once as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import events

from opencode.tui.widgets.tool_call import ToolCallView
from tests.tui.conftest import wait_for

PASTE = "!Note: the deploy script below fails, why?\necho PASTED-RAN > pasted_ran"


async def test_a_pasted_bang_block_waits_for_a_second_enter(make_app: Any, project: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        prompt = app.chat.prompt
        prompt.focus()
        app.post_message(events.Paste(PASTE))
        await wait_for(pilot, lambda: prompt.text == PASTE)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app._notifications)
        note = list(app._notifications)[-1]
        assert "shell command (2 lines)" in note.message and "Enter again" in note.message
        assert prompt.text == PASTE  # kept, nothing lost
        await pilot.pause()
        assert not app.chat.query(ToolCallView) and not (project / "pasted_ran").exists()
        await pilot.press("enter")  # seen and confirmed: it runs
        await wait_for(pilot, lambda: (project / "pasted_ran").exists())
        await wait_for(pilot, lambda: not app.chat.running)
        # Typed by hand: no question.
        await pilot.press(*"!echo typed > typed_ran")
        await pilot.press("enter")
        await wait_for(pilot, lambda: (project / "typed_ran").exists())


async def test_a_paste_after_typed_text_or_without_bang_is_sent_at_once(
    make_app: Any, project: Path
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        prompt = app.chat.prompt
        prompt.focus()
        await pilot.press(*"!echo ")
        app.post_message(events.Paste("mid-line > pasted_mid"))  # the ! was typed
        await wait_for(pilot, lambda: prompt.text.endswith("pasted_mid"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: (project / "pasted_mid").exists())
