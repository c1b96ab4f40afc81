"""What a command printed can act on no terminal: the tool call widget's header, expanded body
and live tail keep SGR colours and drop every other escape sequence and control character
(window title, OSC 52 clipboard write, screen clear, full reset, DCS); a ``\\r`` progress bar
shows its last state in one row."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

from rich.console import Console, RenderableType

from opencode.tui.widgets.terminal_text import plain_safe, terminal_text
from opencode.tui.widgets.tool_call import LIVE_LINES, ToolCallView

HOSTILE = (
    "A\x1b]0;PWNED\x07B\x1b]52;c;aGVsbG8=\x07C\x1b[2J\x1b[HD\x1b[31mRED\x1b[0m"
    "\x1b]2;PWN2\x1b\\E\x1bc\x1bP1;2q\x1b\\\x9b2J\x07\x08 end"
)
# Anything a terminal would act on but an SGR colour change.
_NOT_SGR = re.compile(r"\x1b(?!\[[0-9;]*m)|[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f]")


def written(renderable: RenderableType) -> str:
    """What Rich (and so Textual) writes to a terminal for ``renderable``."""
    out = StringIO()
    Console(file=out, force_terminal=True, color_system="truecolor", width=200).print(renderable)
    return out.getvalue()


def test_terminal_text_keeps_colours_and_drops_the_rest() -> None:
    text = terminal_text(HOSTILE)
    assert text.plain.startswith("ABCDREDE")
    assert not _NOT_SGR.search(written(text))
    assert any(span.end - span.start == 3 for span in text.spans)  # RED keeps its colour
    assert not _NOT_SGR.search(plain_safe(HOSTILE))
    assert terminal_text("get 10%\rget 55%\rget 100%\r\nnext").plain == "get 100%\nnext"


async def test_an_expanded_result_writes_no_escape_to_the_terminal(make_app: Any) -> None:
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        view = ToolCallView("bash", {"command": "printf \x1b]0;T\x07"}, call_id="c_esc")
        await app.chat.transcript.mount(view)
        view.finish("completed", HOSTILE + "\n[exit code 0]", 5, {"exit_code": 0})
        view.action_expand()
        await pilot.pause()
        assert not _NOT_SGR.search(written(view.body()))
        assert not _NOT_SGR.search(written(view.header_text()))
        failed = ToolCallView("bash", {"command": "x"}, call_id="c_err")
        await app.chat.transcript.mount(failed)
        failed.finish("error", HOSTILE, 5, {})
        assert not _NOT_SGR.search(written(failed.header_text()))
        read = ToolCallView("read", {"path": "log.txt"}, call_id="c_read")
        await app.chat.transcript.mount(read)
        read.finish("completed", "    1\t" + HOSTILE, 5, {})
        assert not _NOT_SGR.search(written(read.body()))


async def test_a_progress_bar_shows_its_last_state_in_one_row(make_app: Any) -> None:
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        view = ToolCallView("bash", {"command": "curl -O big"}, call_id="c_bar")
        await app.chat.transcript.mount(view)
        view.add_live_output("starting\n")
        for percent in range(0, 101, 5):
            view.add_live_output(f"[{'#' * (percent // 5):<20}] {percent}%\r")
        await pilot.pause()
        rows = view.query_one(".tool-live").render().plain.splitlines()  # type: ignore[union-attr]
        assert rows == ["starting", f"[{'#' * 20}] 100%"]
        view.add_live_output("\ndone\n")  # the bar's line ends; the next line follows it
        rows = view.query_one(".tool-live").render().plain.splitlines()  # type: ignore[union-attr]
        assert rows == ["starting", f"[{'#' * 20}] 100%", "done"]
        for _ in range(2_000):  # a bar that never ends keeps the partial line bounded
            view.add_live_output("x" * 300 + "\r")
        assert len(view._live_partial) <= 600
        assert len(view.live_lines) <= LIVE_LINES


async def test_long_live_lines_take_one_row_each(make_app: Any) -> None:
    """Minified JSON or a base64 blob printed by a command: the live tail stays ``LIVE_LINES``
    rows high at 60 columns, each line cut with an ellipsis, instead of wrapping."""
    app = make_app(open_session=False)
    async with app.run_test(size=(60, 15)) as pilot:
        view = ToolCallView("bash", {"command": "cat min.js"}, call_id="c_long")
        await app.chat.transcript.mount(view)
        view.add_live_output("".join(f"{i}" + "x" * 2_000 + "\n" for i in range(20)))
        view.add_live_output("\xff\xfe invalid \ufffd bytes " + "y" * 400)  # a partial line too
        await pilot.pause()
        assert view.query_one(".tool-live").region.height == LIVE_LINES
