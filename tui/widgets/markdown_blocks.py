"""Markdown blocks for the streaming renderer: where blocks end, and how one is drawn.

``BlockSplitter`` cuts growing text into finished blocks and an open tail; ``render_block``
draws a block (or a group of them) with Rich's public ``Markdown``; ``render_plain`` draws a
huge open block cheaply; ``estimate_height`` guesses, without rendering, the lines blocks
will take (``StreamingMarkdown`` lays out text far above the reader with it).
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from opencode.tui.safe_text import visible

if TYPE_CHECKING:
    from rich.markdown import Markdown  # with markdown-it: imported at the first render

CODE_THEME = "monokai"
# What the first render would otherwise import (and look up) in one go, 40-75 ms in one loop
# callback: split into steps of a few to 20 ms each, taken one per loop turn (``warm_up``).
WARM_IMPORTS = (
    "markdown_it",
    "pygments.lexers",
    "pygments.styles",
    "rich.syntax",
    "rich.markdown",
)


def _fence_of(line: str) -> str | None:
    """The fence marker (``` or ~~~ run) opening a code block on this line, if any."""
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3:
        return None
    for char in ("`", "~"):
        if stripped.startswith(char * 3):
            run = len(stripped) - len(stripped.lstrip(char))
            return char * run
    return None


class BlockSplitter:
    """Incrementally splits growing markdown text into finished blocks and an open tail.

    A block is finished by a blank line outside a code fence once the next line shows that
    nothing continues it (an indented line continues a list item across the blank), by the
    closing fence of a code block, or by a fence opening after other content. Only complete
    lines are examined, and each only once.
    """

    def __init__(self) -> None:
        self.text = ""
        self.open_start = 0  # where the open (unfinished) block begins
        self._scan = 0  # start of the first line not examined yet
        self._fence: str | None = None
        self._break: int | None = None  # a blank line that may end the open block

    def feed(self, text: str) -> list[str]:
        """Append text; return the blocks it finished, in order."""
        self.text += text
        finished: list[str] = []
        source = self.text
        while True:
            end = source.find("\n", self._scan)
            if end < 0:
                break
            start, self._scan = self._scan, end + 1
            line = source[start:end]
            if self._fence is not None:
                stripped = line.strip()
                if stripped.startswith(self._fence) and not stripped.strip(self._fence[0]):
                    self._fence = None
                    finished.append(source[self.open_start : end])
                    self.open_start = end + 1
                continue
            fence = _fence_of(line)
            if fence is not None:
                if source[self.open_start : start].strip():
                    finished.append(source[self.open_start : start].rstrip("\n"))
                self.open_start = start
                self._fence = fence
                self._break = None
            elif not line.strip():
                if not source[self.open_start : start].strip():
                    self.open_start = end + 1
                elif self._break is None:
                    self._break = start
            elif self._break is not None:
                if line[0] in " \t":
                    self._break = None  # an indented continuation: same block
                else:
                    finished.append(source[self.open_start : self._break].rstrip("\n"))
                    self.open_start = start
                    self._break = None
        return finished

    def close(self) -> list[str]:
        """No more text: finish the last line and the open block; return the blocks."""
        blocks: list[str] = []
        if self.text and not self.text.endswith("\n"):
            # Examine the unterminated last line as if its newline had come.
            blocks = self.feed("\n")
            self.text = self.text[:-1]
        tail = self.text[self.open_start :]
        if tail.strip():
            blocks.append(tail.rstrip("\n"))
        self.open_start = self._scan = len(self.text)
        self._break = None
        return blocks

    @property
    def tail(self) -> str:
        return self.text[self.open_start :]

    @property
    def in_fence(self) -> bool:
        return self._fence is not None


def parse_block(block: str) -> Markdown:
    """Parse one block (or group of blocks) with Rich's public constructor.

    Rich builds a parser per instance (~0.6 ms): finished blocks are parsed in groups of about
    ``GROUP_CHARS`` and not kept (a new width parses again: cheaper in memory than holding
    markdown-it's tokens for every message), only the open tail is re-parsed per frame.
    """
    from rich.markdown import Markdown

    # The model's text is drawn, never sent: an ESC in a reply (a quoted web page, a file)
    # would retitle the window or set the clipboard (OSC 52) on every repaint.
    return Markdown(visible(block), code_theme=CODE_THEME, inline_code_theme=CODE_THEME)


def warm_steps() -> list[Callable[[], object]]:
    """The first render's one-time costs, as steps: the imports, then one small highlighted
    fence (the lexer table and the code theme are loaded on first use)."""

    def importer(name: str) -> Callable[[], object]:
        return lambda: importlib.import_module(name)

    def first_fence() -> object:
        # render_lines writes nothing: the file is only there so no terminal is probed
        console = Console(width=40, color_system="truecolor", file=io.StringIO())
        return render_block(console, "```python\nx = 1\n```\n", 40, Style())

    return [*map(importer, WARM_IMPORTS), first_fence]


def render_block(
    console: Console, block: str | Markdown, width: int, style: Style, *, last: str | None = None
) -> list[Strip]:
    """Render one markdown block (or a group of blocks, ``last`` being the group's last) to
    strips of exactly ``width`` cells."""
    options = console.options.update(width=width, height=None, highlight=False)
    markdown = parse_block(block) if isinstance(block, str) else block
    lines = console.render_lines(markdown, options, style=style, pad=True)
    # Rich opens lists (and some other elements) with a blank line; blocks are already
    # separated by one. A code block keeps its blank lines: they are its padded box.
    if _fence_of(markdown.markup) is None:
        while lines and not "".join(segment.text for segment in lines[0]).strip():
            lines.pop(0)
    if _fence_of(markdown.markup if last is None else last) is None:
        while lines and not "".join(segment.text for segment in lines[-1]).strip():
            lines.pop()
    return [Strip(line, width) for line in lines]


def render_plain(block: str, width: int, style: Style, *, wrap: bool = False) -> list[Strip]:
    """Cheap rendering of an open, very long block: no markup, no highlighting; code lines
    cropped, other lines wrapped (by characters: it is replaced when the block finishes)."""
    strips = []
    for line in block.split("\n"):
        text = line.expandtabs(4)
        pieces = [text[i : i + width] for i in range(0, len(text), width)] if wrap else []
        for piece in pieces or [text[:width]]:
            strips.append(Strip([Segment(piece.ljust(width), style)], width))
    return strips


def estimate_height(blocks: list[str], width: int) -> int:
    """A cheap guess at the lines ``blocks`` take when rendered together at ``width``: wrapped
    source lines, a blank between blocks, a code block's padding. Corrected once rendered."""
    lines = len(blocks) - 1
    for block in blocks:
        fenced = _fence_of(block) is not None
        room = max(1, width - 2 if fenced else width)
        for line in block.split("\n"):
            lines += max(1, -(-len(line) // room))
        # A code block's fence lines count for its padding (a blank line above and below).
    return max(1, lines)


LineKey = tuple[str, tuple[object, ...], object]


class OpenFence:
    """Draws a growing fenced code block (the open tail of a stream) line by line.

    Each time, the whole code is highlighted again (``Syntax.highlight``): a lexer reads left
    to right, and a construct that spans lines (a C comment, a string) can change how earlier
    lines look when it closes, so highlighting only the new lines would be wrong. What is
    cached is the drawing: a line whose highlighted text is unchanged keeps its rendered
    segments, and only new or changed lines are rendered (for a 7,000-character block about a
    third of rendering it whole, and no markdown parse). The result is what ``render_block``
    draws for the same text (Rich's code block: ``Syntax`` with word wrap and a padding of 1).
    """

    def __init__(self) -> None:
        self._lines: dict[LineKey, list[list[Segment]]] = {}
        self._width = 0
        self.lines_rendered = 0  # (tests)

    def render(self, console: Console, tail: str, width: int, style: Style) -> list[Strip] | None:
        """The strips of the open fence ``tail``; None for a fence this does not draw the way
        Rich's markdown would (an indented opener, an info string with escapes)."""
        from rich.syntax import Syntax

        opener, _, code = visible(tail).partition("\n")
        fence = opener[: len(opener) - len(opener.lstrip(opener[:1]))] if opener else ""
        info = opener[len(fence) :].strip()
        if len(fence) < 3 or fence[0] not in "`~" or "\\" in info or "&" in info:
            return None
        lexer = info.partition(" ")[0] or "text"
        code = code.rstrip()
        syntax = Syntax(code, lexer, theme=CODE_THEME, word_wrap=True, padding=1)
        base = Syntax.get_theme(CODE_THEME).get_background_style() + syntax.background_style
        text = syntax.highlight((code + "\n").expandtabs(syntax.tab_size))
        if width != self._width:
            self._lines.clear()
            self._width = width
        code_width = max(0, width - 2)
        options = console.options.update(
            width=code_width, height=None, highlight=False, justify="left"
        )
        pad = Segment(" ", base)
        cache, self._lines = self._lines, {}
        lines = [[Segment(" " * width, base)]]
        for line in text.split("\n", allow_blank=False):
            key: LineKey = (line.plain, tuple(line.spans), line.style)
            drawn = cache.get(key) or self._lines.get(key)
            if drawn is None:
                drawn = [
                    [pad, *row, pad]
                    for row in console.render_lines(line, options, style=base, pad=True)
                ]
                self.lines_rendered += 1
            self._lines[key] = drawn
            lines.extend(drawn)
        lines.append([Segment(" " * width, base)])
        return [Strip(Segment.apply_style(row, style), width) for row in lines]
