"""A slash command's output is laid out at its final height, however its result races its
mount (``/sync checklist demo`` right after ``/clear`` sometimes showed nothing until the
terminal was resized: the height of the "running…" line stayed cached)."""

from __future__ import annotations

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
