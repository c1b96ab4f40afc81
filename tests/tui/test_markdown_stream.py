"""The streaming markdown renderer: block splitting, and streamed == rendered-at-once."""

from __future__ import annotations

import random

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

from opencode.tui.widgets.markdown_stream import BlockSplitter, StreamingMarkdown
from tests.tui.conftest import wait_for

DOC = """# Title

First paragraph
continues here.

```python
def f():

    return 1
```
- a
- b

~~~~
code with ``` inside
~~~~

1. one
2. two

Last line without newline"""


def test_splitter_finishes_blocks_at_blank_lines_and_fences() -> None:
    splitter = BlockSplitter()
    blocks = splitter.feed(DOC)
    assert blocks == [
        "# Title",
        "First paragraph\ncontinues here.",
        "```python\ndef f():\n\n    return 1\n```",
        "- a\n- b",
        "~~~~\ncode with ``` inside\n~~~~",
    ]
    # The list could still continue (an indented line would): it waits for the next line.
    assert splitter.tail == "1. one\n2. two\n\nLast line without newline"
    assert splitter.close() == ["1. one\n2. two", "Last line without newline"]
    assert splitter.text == DOC


def test_splitter_gives_the_same_blocks_whatever_the_chunking() -> None:
    whole = BlockSplitter().feed(DOC)
    rng = random.Random(7)
    for _ in range(20):
        splitter = BlockSplitter()
        blocks: list[str] = []
        i = 0
        while i < len(DOC):
            n = rng.randint(1, 9)
            blocks += splitter.feed(DOC[i : i + n])
            i += n
        assert blocks == whole
        assert splitter.close() == ["1. one\n2. two", "Last line without newline"]


def test_indented_continuation_keeps_a_list_item_together() -> None:
    splitter = BlockSplitter()
    blocks = splitter.feed("- item\n\n  continued\n\nnext para\n\n")
    assert blocks == ["- item\n\n  continued"]
    assert splitter.close() == ["next para"]


def test_open_fence_stays_in_the_tail() -> None:
    splitter = BlockSplitter()
    assert splitter.feed("intro\n\n```\nline\n\nmore\n") == ["intro"]
    assert splitter.in_fence
    assert splitter.tail == "```\nline\n\nmore\n"


class Host(App[None]):
    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield StreamingMarkdown(id="streamed")
            yield StreamingMarkdown(DOC, finished=True, id="whole")


def lines(widget: StreamingMarkdown) -> list[str]:
    return [widget.render_line(y).text for y in range(widget.size.height)]


async def test_streamed_text_renders_exactly_like_the_whole_text() -> None:
    app = Host()
    async with app.run_test(size=(80, 60)) as pilot:
        streamed = app.query_one("#streamed", StreamingMarkdown)
        rng = random.Random(3)
        i = 0
        while i < len(DOC):
            n = rng.randint(1, 6)
            streamed.append(DOC[i : i + n])
            i += n
            if rng.random() < 0.2:
                await pilot.pause(0.04)  # let some frames flush mid-stream
        streamed.finish()
        await pilot.pause(0.1)
        whole = app.query_one("#whole", StreamingMarkdown)
        assert streamed.text == DOC
        assert lines(streamed) == lines(whole)
        assert any("return 1" in line for line in lines(whole))
        assert streamed.size.height == whole.size.height > 10


async def test_height_grows_in_steps_when_fast_and_exactly_when_slow() -> None:
    from opencode.tui.widgets.markdown_stream import GROW_STEP

    app = Host()
    async with app.run_test(size=(80, 60)) as pilot:
        streamed = app.query_one("#streamed", StreamingMarkdown)
        streamed.append("one line\n\nsecond\n")
        # Waited for, not timed: a flush is due within a frame, later on a loaded machine.
        await wait_for(pilot, lambda: streamed.size.height == 3)  # one flush: exact
        for i in range(40):  # about 200 lines a second
            streamed.append(f"line {i}\n\n")
            await pilot.pause(0.01)
        await wait_for(pilot, lambda: any("line 39" in line for line in lines(streamed)))
        await pilot.pause(0.05)  # the resize that follows the last flush
        real = streamed._renders[streamed._width].height
        assert streamed.size.height >= real
        assert streamed.size.height - real < GROW_STEP
        assert streamed._step > 1
        streamed.finish()
        await wait_for(
            pilot, lambda: streamed.size.height == streamed._renders[streamed._width].height
        )
        assert lines(streamed)[-1].strip() == "line 39"


def test_blocks_are_parsed_by_richs_public_constructor_with_tables_and_strikethrough() -> None:
    """The seam with Rich is its public ``Markdown(...)``: tables, strikethrough and the code
    theme come out as Rich renders them, with no attribute of Rich's set by hand."""
    from rich.console import Console
    from rich.markdown import Markdown
    from rich.style import Style

    from opencode.tui.widgets.markdown_stream import CODE_THEME, parse_block, render_block

    table = "| tool | status |\n| --- | --- |\n| read | ~~failed~~ ok |"
    parsed = parse_block(table)
    assert type(parsed) is Markdown
    assert parsed.code_theme == CODE_THEME
    console = Console(width=60, color_system="truecolor", force_terminal=True)
    strips = render_block(console, table, 40, Style())
    lines = ["".join(segment.text for segment in strip) for strip in strips]
    assert any("tool" in line and "status" in line for line in lines)
    assert any("━" in line or "─" in line for line in lines), lines  # a table rule
    struck = [seg for strip in strips for seg in strip if "failed" in seg.text]
    assert struck and struck[0].style is not None and struck[0].style.strike
    assert all(strip.cell_length == 40 for strip in strips)
