"""Text from a model or a command is drawn, never sent to the terminal as control sequences.

A reply quoting a web page, a file a tool read or a command's output may hold ``ESC ]2;…``
(window title), ``ESC ]52;…`` (clipboard) or a C1 CSI: drawn as-is they act on the user's
terminal at every repaint. Each view shows them as visible symbols instead.
"""

from __future__ import annotations

import io

from rich.console import Console, RenderableType

from opencode.tui.widgets.markdown_stream import parse_block
from opencode.tui.widgets.message_views import ErrorNotice, UserMessage
from opencode.tui.widgets.tool_call import ToolCallView

HOSTILE = "before \x1b]2;PWNED-TITLE\x07 \x1b]52;c;ZWNobyBoaQ==\x07 \x9b2J after"


def drawn(renderable: RenderableType) -> str:
    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system=None)
    lines = console.render_lines(renderable, console.options.update(width=100))
    return "".join(segment.text for line in lines for segment in line)


def assert_inert(text: str) -> None:
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    assert "before" in text and "after" in text  # the text around them is kept


def assert_safe(text: str) -> None:
    """Model text: the sequences are shown as symbols (what was said stays readable)."""
    assert_inert(text)
    assert "PWNED-TITLE" in text and "␛" in text


def test_a_streamed_reply_shows_escapes_as_symbols() -> None:
    assert_safe(drawn(parse_block(f"Some text {HOSTILE}\n\n```\ncode {HOSTILE}\n```\n")))


def test_user_and_error_messages_show_escapes_as_symbols() -> None:
    assert_safe(drawn(UserMessage(HOSTILE).content))  # type: ignore[arg-type]
    assert_safe(drawn(ErrorNotice(HOSTILE, HOSTILE).content))  # type: ignore[arg-type]


def test_a_tool_call_shows_escapes_in_its_header_and_body_as_symbols() -> None:
    view = ToolCallView("bash", {"command": f"printf '{HOSTILE}'"}, status="error", output=HOSTILE)
    # A command's output keeps its colours and drops other sequences (terminal_text).
    assert_inert(drawn(view.header_text()))
    assert_inert(drawn(view.body()))
    read = ToolCallView("read", {"path": "page.html"}, status="completed", output=HOSTILE)
    assert_inert(drawn(read.body()))
