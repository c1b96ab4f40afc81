"""A slash command's output is laid out at its final height, however its result races its
mount (``/sync checklist demo`` right after ``/clear`` sometimes showed nothing until the
terminal was resized: the height of the "running…" line stayed cached)."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.geometry import Size

from opencode.tui.widgets.command_output import CommandOutput
from tests.tui.conftest import wait_for

RESULT = "\n".join(f"- [ ] step {n}" for n in range(12))


async def test_result_set_before_mount_completes_gets_its_full_height(make_app: Any) -> None:
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        transcript = app.chat.transcript
        output = CommandOutput("/sync checklist demo", running=True)
        transcript.add_output(output)  # mounting, not mounted yet
        # A layout pass that measures the widget while it still says "running…" ...
        width = transcript.size.width - 2
        assert output.get_content_height(Size(width, 30), Size(width, 30), width) == 1
        # ... then the command's result arrives before the widget's Mount event.
        output.set_result(RESULT, [], failed=False)
        await wait_for(pilot, lambda: output.is_mounted)
        # Layout runs after a refresh: wait for it (a height stuck at 1 never gets there).
        await wait_for(pilot, lambda: output.region.height >= 13)


async def test_result_after_mount_gets_its_full_height(make_app: Any) -> None:
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        output = CommandOutput("/sync checklist demo", running=True)
        app.chat.transcript.add_output(output)
        await wait_for(pilot, lambda: output.is_mounted)
        await pilot.pause()
        output.set_result(RESULT, [], failed=False)
        # Layout runs after a refresh: wait for it (a height stuck at 1 never gets there).
        await wait_for(pilot, lambda: output.region.height >= 13)


async def test_output_after_clear_is_in_view_even_when_the_user_had_scrolled_up(
    make_app: Any,
) -> None:
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        transcript = app.chat.transcript
        for index in range(40):
            transcript.add_output(CommandOutput(f"/line {index}", "x\ny\nz"))
        await wait_for(pilot, lambda: transcript.max_scroll_y > 100)
        await pilot.pause()
        await pilot.press("pageup")  # the user reads back: the anchor is released
        await pilot.pause()
        await app.chat.clear_view()
        output = CommandOutput("/sync checklist demo", running=True)
        transcript.add_output(output)
        await pilot.pause()
        output.set_result(RESULT, [], failed=False)
        await pilot.pause(0.2)
        visible = output.region.intersection(transcript.region)
        assert visible.height >= 13, (output.region, transcript.scroll_y)


async def test_result_in_any_mount_window_after_clear_gets_its_full_height(make_app: Any) -> None:
    """The exact sequence of the report: /clear, then a command whose result arrives while
    its widget mounts. Each step of the event loop between mount and result is tried: with
    Textual 8.2, before the fix of 28867e0, a result arriving 6 steps in stayed one line."""
    app = make_app(open_session=False)
    async with app.run_test(size=(110, 32)) as pilot:
        chat = app.chat
        transcript = chat.transcript
        stuck = []
        for steps in range(16):
            await chat.clear_view()
            output = CommandOutput("/sync checklist demo", running=True)
            transcript.add_output(output)
            for _ in range(steps):
                await asyncio.sleep(0)
            output.set_result(RESULT, [], failed=False)
            for _ in range(4):
                await pilot.pause()
            if output.region.height < 13:
                stuck.append((steps, output.region.height))
        assert not stuck


async def test_result_while_a_layout_is_pending_gets_its_full_height(make_app: Any) -> None:
    """A progress line asks for a layout; before the widget's own idle hands that request
    on, the screen lays out (a sibling was mounted) and measures the progress; then the
    result arrives. Textual's box model is cached under a layout counter that a refresh
    does not advance while a layout is pending, so the result kept the two-line height."""
    app = make_app(open_session=False)
    async with app.run_test(size=(110, 32)) as pilot:
        transcript = app.chat.transcript
        output = CommandOutput("/sync run demo", running=True)
        transcript.add_output(output)
        await wait_for(pilot, lambda: output.region.height == 1)
        await pilot.pause()
        output.add_progress("checking the target")
        transcript.add_output(CommandOutput("/help", "a line"))
        # The layout pass the sibling causes, run now: the interleaving under load, made
        # deterministic (the screen's own layout step, as its update timer runs it).
        app.screen._refresh_layout()
        assert output.region.height == 2
        output.set_result(RESULT, [], failed=False)
        await wait_for(pilot, lambda: output.region.height >= 13)
