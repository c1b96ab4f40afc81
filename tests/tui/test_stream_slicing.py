"""However fast text arrives, the renderer works in slices and the runner is paused for input:
a big backlog is rendered over several flushes (keys get their turn in between), ends up exactly
as rendered at once, and a widget taken off screen drops its lines."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from rich.console import Console
from rich.style import Style
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

from opencode.sessions.events import PartDelta
from opencode.tui import pacing
from opencode.tui.widgets import markdown_stream
from opencode.tui.widgets.markdown_stream import StreamingMarkdown, render_block
from tests.tui.conftest import wait_for

BIG = "\n\n".join(f"Paragraph {n} with `code` and **bold** text." for n in range(400))


class Host(App[None]):
    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield StreamingMarkdown(id="streamed")


def lines(widget: StreamingMarkdown) -> list[str]:
    return [widget.render_line(y).text.rstrip() for y in range(widget.size.height)]


async def test_a_big_backlog_is_rendered_in_slices_and_ends_up_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(markdown_stream, "SLICE_S", 0.0)  # one group per slice
    monkeypatch.setattr(markdown_stream, "RENDER_AHEAD_SCREENS", 10_000)  # all rendered
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        streamed = app.query_one("#streamed", StreamingMarkdown)
        await pilot.pause()
        streamed.append(BIG)
        streamed.flush()
        rendered = streamed._renders[streamed._width]
        assert 0 < rendered.blocks < 400  # one slice, not the whole backlog
        assert streamed._flush_handle is not None  # the next slice is scheduled
        streamed.finish()
        await wait_for(pilot, lambda: streamed._renders[streamed._width].blocks == 400)
        expected = [f"Paragraph {n} with code and bold text." for n in range(400)]
        # The caught-up frame follows the last slice (later under load): wait for it.
        await wait_for(pilot, lambda: [line for line in lines(streamed) if line] == expected)


async def test_render_line_never_renders_new_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        streamed = app.query_one("#streamed", StreamingMarkdown)
        streamed.append("first\n\nsecond\n\n")
        await wait_for(pilot, lambda: streamed.size.height >= 3)
        before = streamed._renders[streamed._width].blocks
        streamed._pending.append("third\n\nfourth\n\n")
        streamed._ingest()
        for y in range(10):
            streamed.render_line(y)
        assert streamed._renders[streamed._width].blocks == before


async def test_an_unmounted_message_drops_its_rendered_lines() -> None:
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        streamed = app.query_one("#streamed", StreamingMarkdown)
        streamed.append(BIG[:2000])
        streamed.finish()
        await wait_for(pilot, lambda: streamed._renders)
        await streamed.remove()
        assert not streamed._renders
        assert streamed.text == BIG[:2000]  # the text stays


async def test_pacer_pauses_a_producer_that_never_yields() -> None:
    pacer = pacing.Pacer()
    event = PartDelta("ses", "prt", "text", "abcd")
    deadline = time.perf_counter() + 5
    pause = None
    while pause is None and time.perf_counter() < deadline:
        pause = pacer(event)  # back to back, as a runner reading a full socket buffer
    assert pause is not None
    await pause
    assert pacer.pauses == 1


async def test_pacer_leaves_a_producer_that_waits_alone() -> None:
    pacer = pacing.Pacer()
    event = PartDelta("ses", "prt", "text", "abcd")
    for _ in range(20):
        assert pacer(event) is None
        await asyncio.sleep(pacing.GAP_S * 3)  # the loop turns between events
    assert pacer.pauses == 0


async def test_layout_reports_what_is_rendered_and_renders_nothing_more() -> None:
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        streamed = app.query_one("#streamed", StreamingMarkdown)
        streamed.append("first\n\nsecond\n\n")
        await wait_for(pilot, lambda: not streamed.catching_up)
        assert streamed.layout_renders == 1  # the first layout at this width, only
        before = streamed._renders[streamed._width].blocks
        streamed._pending.append("third\n\nfourth\n\n")
        height = streamed.get_content_height(app.size, app.size, streamed._width)
        assert streamed._renders[streamed._width].blocks == before  # a layout renders nothing
        assert height == streamed._renders[streamed._width].height
        assert streamed.layout_renders == 1
        assert streamed._flush_handle is not None  # the flush renders them, in slices
        await wait_for(pilot, lambda: not streamed.catching_up)


async def test_a_finished_block_is_rendered_once_while_the_stream_appends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rendered: list[tuple[int, str]] = []
    render_block = markdown_stream.render_block

    def counted(console: Console, block: str, width: int, style: Style, **kwargs: Any) -> Any:
        rendered.append((width, block))
        return render_block(console, block, width, style, **kwargs)

    monkeypatch.setattr(markdown_stream, "render_block", counted)
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        streamed = app.query_one("#streamed", StreamingMarkdown)
        for n in range(30):
            for piece in (f"Block {n} ", "grows **word** ", "by word.\n\n"):
                streamed.append(piece)
                streamed.flush()  # a frame per delta: the worst case
            await pilot.pause()
        streamed.finish()
        await wait_for(pilot, lambda: not streamed.catching_up)
        # At the width it is shown at (a scrollbar appearing renders again at the new width),
        # each finished block was rendered once, alone or in a group; the tail only re-renders.
        width = streamed._width
        finished = [text for w, text in rendered if w == width and text.endswith("by word.")]
        for n in range(30):
            assert sum(f"Block {n} grows" in text for text in finished) == 1


class SteadyHost(Host):
    # The scrollbar's room kept from the start: its arrival would change the width, and a
    # new width renders (and shows) the message again.
    CSS = "VerticalScroll { scrollbar-gutter: stable; }"


async def test_a_message_behind_the_text_refreshes_the_screen_at_frame_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(markdown_stream, "SLICE_S", 0.0)  # one group per slice
    monkeypatch.setattr(markdown_stream, "CATCH_UP_FRAME_S", 3600.0)
    # Every block near the end of the text: all rendered before shown, in slices.
    monkeypatch.setattr(markdown_stream, "RENDER_AHEAD_SCREENS", 10_000)
    app = SteadyHost()
    async with app.run_test(size=(80, 40)) as pilot:
        streamed = app.query_one("#streamed", StreamingMarkdown)
        await pilot.pause()
        slices: list[int] = []
        flush = streamed.flush

        def counted() -> None:
            slices.append(streamed.shown)
            flush()

        monkeypatch.setattr(streamed, "flush", counted)
        streamed.append(BIG)
        streamed.finish()
        await wait_for(pilot, lambda: not streamed.catching_up)
        assert len(slices) > 5  # rendered over many slices ...
        assert streamed.shown == 2  # ... shown at the first and once caught up
        expected = [f"Paragraph {n} with code and bold text." for n in range(400)]
        # The caught-up frame is painted after the last slice (later under load): wait for it.
        await wait_for(pilot, lambda: [line for line in lines(streamed) if line] == expected)
        assert streamed.shown == 2  # and that frame was the one show, not more


async def test_a_growing_open_block_is_re_rendered_within_its_share(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(markdown_stream, "TAIL_SHARE", 1e-9)  # next re-render: far off
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        streamed = app.query_one("#streamed", StreamingMarkdown)
        streamed.append("```python\nx = 1\n")
        streamed.flush()
        first = streamed.tail_renders
        assert "x = 1" in "\n".join(line.text for line in streamed._renders[streamed._width].tail)
        for n in range(20):
            streamed.append(f"y{n} = {n}\n")
            streamed.flush()
        assert streamed.tail_renders == first  # not once per flush
        assert streamed.catching_up  # the screen knows it is behind
        streamed.append("```\n")
        streamed.finish()  # a finished message is shown whole at once
        assert not streamed.catching_up
        await wait_for(pilot, lambda: "y19 = 19" in "\n".join(lines(streamed)))


async def test_layout_sees_the_height_last_shown_while_the_message_catches_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A layout that saw each slice's new height would change the size, which asks for
    # another layout: a layout every frame for as long as the message is behind.
    monkeypatch.setattr(markdown_stream, "SLICE_S", 0.0)  # one group per slice
    monkeypatch.setattr(markdown_stream, "CATCH_UP_FRAME_S", 3600.0)
    # Every block near the end of the text: all rendered before shown, in slices.
    monkeypatch.setattr(markdown_stream, "RENDER_AHEAD_SCREENS", 10_000)
    app = SteadyHost()
    async with app.run_test(size=(80, 40)) as pilot:
        streamed = app.query_one("#streamed", StreamingMarkdown)
        await pilot.pause()
        streamed.append(BIG)
        streamed.finish()  # the first slice, shown
        width = streamed._width
        shown = streamed.get_content_height(app.size, app.size, width)
        rendered = streamed._renders[width]
        before = rendered.height
        for _ in range(5):
            streamed.flush()  # more slices, not shown yet
        assert rendered.height > before
        assert streamed.get_content_height(app.size, app.size, width) == shown
        await wait_for(pilot, lambda: not streamed.catching_up)
        assert streamed.get_content_height(app.size, app.size, width) == rendered.height


def tail_rows(widget: StreamingMarkdown) -> list[tuple[str, list[Any]]]:
    return [
        (strip.text, [segment.style for segment in strip])
        for strip in widget._renders[widget._width].tail
    ]


async def test_a_growing_code_block_draws_only_its_new_lines_as_rendered_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(markdown_stream, "TAIL_SHARE", 1e9)  # re-rendered at every flush
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        streamed = app.query_one("#streamed", StreamingMarkdown)
        await pilot.pause()
        streamed.append("Intro.\n\n```python\n")
        for n in range(60):
            streamed.append(f"value_{n} = compute({n})  # step {n}\n")
            streamed.flush()
        fence = streamed._fence
        # Each flush drew its new line (and the last, still growing, one): not every line.
        assert 60 <= fence.lines_rendered < 2 * 60
        tail = streamed._splitter.tail
        expected = render_block(app.console, tail, streamed._width, streamed._base_style())
        rows = tail_rows(streamed)
        assert not rows[0][0].strip()  # the blank line after the paragraph above
        assert rows[1:] == [(s.text, [segment.style for segment in s]) for s in expected]


async def test_a_construct_closing_later_re_highlights_the_lines_it_spans(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(markdown_stream, "TAIL_SHARE", 1e9)
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        streamed = app.query_one("#streamed", StreamingMarkdown)
        await pilot.pause()
        for piece in ("```c\n", "int a; /* a comment\n", "still the comment\n", "*/ int b;\n"):
            streamed.append(piece)
            streamed.flush()
        tail = streamed._splitter.tail
        expected = render_block(app.console, tail, streamed._width, streamed._base_style())
        rows = tail_rows(streamed)
        assert rows == [(s.text, [segment.style for segment in s]) for s in expected]
        # "still the comment" is drawn as a comment now that the comment has closed.
        assert any("still the comment" in text for text, _ in rows)
