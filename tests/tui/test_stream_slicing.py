"""However fast text arrives, the renderer works in slices and the runner is paused for input:
a big backlog is rendered over several flushes (keys get their turn in between), ends up exactly
as rendered at once, and a widget taken off screen drops its lines."""

from __future__ import annotations

import asyncio
import time

import pytest
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

from opencode.sessions.events import PartDelta
from opencode.tui import pacing
from opencode.tui.widgets import markdown_stream
from opencode.tui.widgets.markdown_stream import StreamingMarkdown
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
        await pilot.pause(0.1)
        text = [line for line in lines(streamed) if line]
        assert text == [f"Paragraph {n} with code and bold text." for n in range(400)]


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
