"""A long reply is rendered where the reader looks: text that arrives far above the end of the
stream is only measured (an estimated height) and rendered when scrolled to, so a fast stream
reaches the screen sooner; scrolled back, every line is there, rendered as it would be at once,
and a message holds a bounded number of rendered lines however long it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget

from opencode.tui.widgets import markdown_stream
from opencode.tui.widgets.markdown_stream import StreamingMarkdown, render_block
from tests.support.tui_app import make_test_app, stream_events_into
from tests.tui.conftest import wait_for


def section(n: int) -> str:
    code = "\n".join(f"    value_{n}_{i} = compute({i}, 'x' * {i})" for i in range(6))
    return (
        f"## Step {n}: refactor the module\n\n"
        f"The function below reads the configuration of part {n}, validates every field and "
        "returns a typed object; errors stay **precise** and `names` stable for callers.\n\n"
        f"- read the file {n}\n- substitute values\n  - nested detail {n}\n- return it\n\n"
        f"```python\ndef load_{n}(path):\n{code}\n    return path\n```"
    )


LONG = "\n\n".join(section(n) for n in range(120))


class Host(App[None]):
    CSS = "VerticalScroll { scrollbar-gutter: stable; }"

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield StreamingMarkdown(id="streamed")


def words(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if line.strip()]


def expected_lines(app: App[Any], streamed: StreamingMarkdown) -> list[str]:
    """The whole reply rendered in one go at the widget's width."""
    strips = render_block(app.console, LONG, streamed._width, streamed.rich_style)
    return words([strip.text for strip in strips])


async def read_screens(
    pilot: Any, streamed: StreamingMarkdown, scroller: Widget | None = None
) -> list[str]:
    """Page down from the top as a reader would, each screen drawn and its chunks laid out at
    their real height; return the message's lines of a last pass in which no height changed."""
    if scroller is None:
        scroller = streamed.app.query_one(VerticalScroll)
    for _ in range(3):
        scroller.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        seen: list[str] = []
        moved = False
        read = 0  # the message's lines read so far (the last screen may overlap the one before)
        while True:
            await pilot.pause()  # a frame: the screen's lines drawn
            rendered = streamed._renders[streamed._width]
            moved = moved or bool(rendered.unsized)
            await wait_for(pilot, lambda: not streamed._renders[streamed._width].unsized)
            await pilot.pause()
            page = scroller.scrollable_content_region.height
            top = streamed._visible_top() or 0
            bottom = min(streamed.size.height, top + page)
            if scroller.content_region.y + page > streamed.content_region.y:  # in view
                seen.extend(streamed.render_line(y).text for y in range(max(top, read), bottom))
                read = max(read, bottom)
            if bottom >= streamed.size.height or scroller.scroll_y >= scroller.max_scroll_y:
                break
            scroller.scroll_to(y=scroller.scroll_y + page, animate=False, immediate=True)
        if not moved:
            return seen
    raise AssertionError("heights still changing after three passes")


async def test_a_long_reply_renders_its_end_first_and_its_beginning_when_scrolled_to() -> None:
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        streamed = app.query_one("#streamed", StreamingMarkdown)
        await pilot.pause()
        streamed.append(LONG)
        streamed.finish()
        await wait_for(pilot, lambda: not streamed.catching_up)
        blocks = len(streamed._blocks)
        # The end of the reply was rendered; most of what is above it was only measured.
        assert streamed.block_renders < blocks // 4
        scroller = app.query_one(VerticalScroll)
        scroller.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        height = streamed.size.height
        end = [streamed.render_line(y).text for y in range(height - 5, height)]
        assert any("return path" in line for line in end)

        # Scrolled back to the top and read down: every line, as rendered at once.
        seen = await read_screens(pilot, streamed)
        assert words(seen) == expected_lines(app, streamed)


async def test_a_long_message_holds_a_bounded_number_of_rendered_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(markdown_stream, "KEEP_LINES", 300)
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        streamed = app.query_one("#streamed", StreamingMarkdown)
        await pilot.pause()
        streamed.append(LONG)
        streamed.finish()
        await wait_for(pilot, lambda: not streamed.catching_up)
        seen = await read_screens(pilot, streamed)  # every chunk rendered once
        assert words(seen) == expected_lines(app, streamed)
        rendered = streamed._renders[streamed._width]
        assert rendered.held == sum(len(c.lines) for c in rendered.chunks if c.lines)
        assert rendered.held <= 300 + 2 * 30  # the budget, and the screen last drawn
        assert sum(c.lines is None for c in rendered.chunks) > len(rendered.chunks) // 2


async def test_a_chunk_above_the_reader_getting_its_real_height_does_not_move_the_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    estimate = markdown_stream.estimate_height
    # Estimates far off (as for tables or long unbroken words): rendering corrects them.
    monkeypatch.setattr(
        markdown_stream, "estimate_height", lambda blocks, width: estimate(blocks, width) // 2
    )
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        streamed = app.query_one("#streamed", StreamingMarkdown)
        scroller = app.query_one(VerticalScroll)
        await pilot.pause()
        streamed.append(LONG)
        streamed.finish()
        await wait_for(pilot, lambda: not streamed.catching_up)
        await pilot.pause()
        rendered = streamed._renders[streamed._width]
        scroller.scroll_to(y=scroller.max_scroll_y // 2, animate=False, immediate=True)
        await pilot.pause()
        await wait_for(pilot, lambda: not rendered.unsized)  # the screen's chunks laid out
        await pilot.pause()

        def screen() -> list[str]:
            top = round(scroller.scroll_y)
            page = scroller.scrollable_content_region.height
            return [streamed.render_line(y).text for y in range(top, top + page)]

        before = screen()
        above = [
            rendered.tops[i]
            for i, chunk in enumerate(rendered.chunks)
            if chunk.lines is None and rendered.tops[i] + chunk.height < scroller.scroll_y
        ]
        assert above  # chunks above the screen, never drawn: measured only
        streamed.render_line(above[-1])  # one drawn (its real height is taller)
        assert rendered.unsized
        await wait_for(pilot, lambda: not rendered.unsized)
        await pilot.pause()
        assert screen() == before


async def test_a_transcript_following_the_stream_keeps_following_after_a_correction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    estimate = markdown_stream.estimate_height
    monkeypatch.setattr(
        markdown_stream, "estimate_height", lambda blocks, width: estimate(blocks, width) // 2
    )
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        streamed = app.query_one("#streamed", StreamingMarkdown)
        scroller = app.query_one(VerticalScroll)
        scroller.anchor()  # as the transcript does while a reply streams
        await pilot.pause()
        streamed.append(LONG)
        await wait_for(pilot, lambda: not streamed.catching_up)
        rendered = streamed._renders[streamed._width]
        far = next(i for i, chunk in enumerate(rendered.chunks) if chunk.lines is None)
        streamed.render_line(rendered.tops[far])  # drawn: real height, taller; above the reader
        await wait_for(pilot, lambda: not rendered.unsized)
        streamed.append("\n\nThe very last paragraph.\n\n")
        streamed.finish()
        await wait_for(pilot, lambda: not streamed.catching_up)

        def at_the_end() -> bool:  # laid out whole, and the reader scrolled to its end
            return (
                streamed.size.height == streamed._renders[streamed._width].height
                and scroller.scroll_y == scroller.max_scroll_y
            )

        await wait_for(pilot, at_the_end)
        height = streamed.size.height
        assert "The very last paragraph." in streamed.render_line(height - 1).text


async def test_scrolled_to_the_top_after_a_big_reply_the_transcript_shows_every_line(
    tmp_path: Path,
) -> None:
    app = await make_test_app(tmp_path, open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        streamed, push, done = await stream_events_into(app)
        for start in range(0, len(LONG), 97):  # deltas as a provider sends them, back to back
            await push(LONG[start : start + 97])
        await done()
        await wait_for(pilot, lambda: streamed.finished and not streamed.catching_up)
        assert streamed.block_renders < len(streamed._blocks) // 2  # the end first
        transcript = app.chat.transcript
        seen = await read_screens(pilot, streamed, transcript)
        assert words(seen) == expected_lines(app, streamed)
