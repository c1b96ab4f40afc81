"""The result of a slash command in the transcript: its line, progress while it runs, then its
text and tables.

Tables of the result are drawn as tables. Its text is drawn as markdown when it is markdown (a
heading, a code fence, a pipe table, a list: ``looks_like_markdown``), as plain text otherwise:
markdown would join the lines of plain output into one paragraph. A failure stays plain.

A result taller than the transcript's view is shown from its first line: the transcript
follows the end of what is added, which left a long listing (``/help`` at 80x24) showing only
its last rows. Shorter results keep the view at the end.

Nothing in a result is markup (``[/]`` or ``[link=…]`` in a title, a cell or a line is drawn as
it is), and control characters are shown as symbols (``opencode.tui.safe_text``): output of a
subprocess (pip, git) or text a user or a model stored must not send escapes to the terminal.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table as RichTable
from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from opencode.tui.safe_text import visible

_BLOCK = re.compile(r"^(?:#{1,6} \S|```|~~~)", re.M)  # a heading or a code fence
_LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,3}[.)]) \S", re.M)
_TABLE_RULE = re.compile(r"^ {0,3}\|? *:?-{3,}:? *(?:\| *:?-{3,}:? *)+\|? *$", re.M)


def looks_like_markdown(text: str) -> bool:
    """Whether ``text`` is meant as markdown: a heading, a fence, a pipe table, or a list of
    two items or more (one ``- x`` line may just be output)."""
    return bool(
        _BLOCK.search(text) or _TABLE_RULE.search(text) or len(_LIST_ITEM.findall(text)) >= 2
    )


class CommandOutput(Static):
    """The result of a slash command: its text and its tables, as tables."""

    DEFAULT_CSS = """
    CommandOutput {
        height: auto;
        margin: 1 0 0 0;
        padding: 0 1;
        border-left: outer $secondary;
    }
    CommandOutput.-failed { border-left: outer $error; color: $text-error; }
    """

    def __init__(
        self,
        line: str,
        text: str | None = None,
        tables: list[Any] | None = None,
        *,
        failed: bool = False,
        running: bool = False,
    ) -> None:
        super().__init__("")
        self.line = line
        self.plain = text or ""
        self.tables = tables or []
        self.progress: list[str] = []
        self.running = running
        self.set_class(failed, "-failed")
        self._reveal_pending = False  # the result's first line shown if it is taller than the view
        self._measured_running = 0  # the height before the result came (a running block's)
        self.update(self._content())

    def update(self, content: Any = "", *, layout: bool = True) -> None:
        super().update(content, layout=layout)
        # New content must be measured again, or its height stays the old one (output seen
        # as one line until the terminal is resized). Static.update does not clear the
        # measured content size while the widget is mounting, and Textual keeps the box
        # model under the widget's layout counter, which refresh(layout=True) does not
        # advance while a layout is already pending: a result arriving after a layout pass
        # measured the "running…" line, before that pending layout, kept its height.
        self.clear_cached_dimensions()
        if hasattr(self, "_layout_updates"):  # Textual's counter; no public way to advance it
            self._layout_updates += 1

    def on_mount(self) -> None:
        if not self.running:
            self._reveal_pending = True
            self.call_after_refresh(self._show_top_if_tall)

    def on_resize(self) -> None:
        # The first layout that measured the result: its height is known only now.
        if self._reveal_pending:
            self._decide_reveal()

    def _show_top_if_tall(self) -> None:
        if self._reveal_pending and self.outer_size.height != self._measured_running:
            self._decide_reveal()  # laid out with the result already (no resize may follow)

    def _decide_reveal(self) -> None:
        """Scroll the transcript to this block's first line when the block is taller than the
        view (which releases the transcript's anchor to the end: the next message anchors it
        again). Once per result, at the first layout that measured it."""
        self._reveal_pending = False
        parent = self.parent
        if not self.is_attached or not isinstance(parent, Widget):
            return
        if self.outer_size.height > parent.scrollable_content_region.height:
            parent.scroll_to_widget(self, top=True, animate=False, immediate=True)

    def add_progress(self, line: str) -> None:
        """A progress line from the running command, shown as it comes."""
        self.progress.append(line)
        self.update(self._content())

    def set_result(self, text: str | None, tables: list[Any], *, failed: bool) -> None:
        self.running = False
        self.plain = text or ""
        self.tables = tables
        self.set_class(failed, "-failed")
        self._measured_running = self.outer_size.height if self.is_attached else 0
        self.update(self._content())
        self._reveal_pending = True
        if self.is_attached:
            self.call_after_refresh(self._show_top_if_tall)

    def _content(self) -> RenderableType:
        from rich.console import Group

        head = Text(visible(self.line), style="bold")
        if self.running:
            head.append("  running…", style="dim")
        parts: list[RenderableType] = [head]
        if self.running and self.progress:
            parts.append(Text(visible("\n".join(self.progress[-20:])), style="dim"))
        for table in self.tables:
            # A str title would be parsed as markup ("[/]" in it stopped the app).
            title = Text(visible(table.title)) if table.title else None
            rich_table = RichTable(title=title, expand=False, show_edge=False)
            for column in table.columns:
                rich_table.add_column(escape(visible(str(column))))
            for row in table.rows:
                rich_table.add_row(*("-" if v is None else escape(visible(str(v))) for v in row))
            parts.append(rich_table)
        if self.plain:
            parts.append(self._text())
        return Group(*parts)

    @property
    def is_markdown(self) -> bool:
        return not self.has_class("-failed") and looks_like_markdown(self.plain)

    def _text(self) -> RenderableType:
        if self.is_markdown:
            from rich.markdown import Markdown

            return Markdown(visible(self.plain), code_theme="monokai", hyperlinks=False)
        return Text(visible(self.plain))
