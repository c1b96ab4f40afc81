"""A data panel: a table of rows from a registered command, the selected row's details below.

Each panel names the command that lists its data (``backlog list``, ``target list``, ...), the
domain whose changes refresh it, and what to tell the user when it is empty or when that
command is not installed. Data goes through the command registry, never through SQL here, so
the panel shows exactly what ``opencode backlog list --format json`` prints.
"""

from __future__ import annotations

import io
import logging
import traceback
from typing import Any, ClassVar

from rich.console import Console, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from opencode.commands.registry import (
    REGISTRY,
    CommandContext,
    CommandResult,
    UsageError,
    run_command,
)

logger = logging.getLogger(__name__)


class DataPanel(Vertical):
    DEFAULT_CSS = """
    DataPanel { height: 1fr; }
    DataPanel > .panel-title { text-style: bold; height: 1; padding: 0 1; background: $panel; }
    DataPanel > DataTable { height: 1fr; min-height: 4; }
    DataPanel > .panel-empty { height: auto; padding: 1 1; color: $text-muted; }
    DataPanel > #details-scroll { height: 1fr; border-top: solid $primary 30%; }
    DataPanel #details { height: auto; padding: 0 1; }
    """

    TITLE: ClassVar[str] = ""
    COMMAND: ClassVar[tuple[str, ...]] = ()
    DOMAIN: ClassVar[str] = ""
    COLUMNS: ClassVar[list[str]] = []
    EMPTY: ClassVar[str] = ""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: list[dict[str, Any]] = []
        self.loaded = False
        self.empty_text = ""
        self.selected: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(self.TITLE, classes="panel-title")
        yield Static("", classes="panel-empty", id="empty")
        table: DataTable[Any] = DataTable(cursor_type="row", zebra_stripes=True, id="table")
        yield table
        with VerticalScroll(id="details-scroll"):
            yield Static("", id="details")

    def on_mount(self) -> None:
        self.query_one("#table", DataTable).add_columns(*self.COLUMNS)
        self._show_empty(True, "Loading…")

    def _show_empty(self, empty: bool, text: str = "") -> None:
        self.empty_text = text
        self.query_one("#empty", Static).update(Text(text))
        self.query_one("#empty").display = empty
        self.query_one("#table").display = not empty
        self.query_one("#details-scroll").display = not empty

    async def run_words(self, ctx: CommandContext, words: tuple[str, ...]) -> CommandResult:
        """Run one registered command (``UsageError`` when this build does not have it)."""
        command, values = REGISTRY.parse(list(words))
        return await run_command(ctx, command, values)

    async def fetch(self, ctx: CommandContext) -> CommandResult:
        """The panel's data; panels with a richer source and a fallback override this."""
        return await self.run_words(ctx, self.COMMAND)

    async def reload(self, ctx: CommandContext) -> None:
        try:
            result = await self.fetch(ctx)
        except UsageError:
            self.items = []
            self.loaded = True
            self._show_empty(
                True,
                f"`{' '.join(self.COMMAND)}` is not available in this build.\n\n{self.EMPTY}",
            )
            return
        except Exception as exc:
            # Not a CommandError (run_command turns those into results): e.g. a StoreError
            # "database is locked" while a CLI sync writes. Show it here; the app stays up.
            logger.error("panel %s: %s failed", self.TITLE, " ".join(self.COMMAND), exc_info=exc)
            self.log.error(f"panel {self.TITLE} reload failed\n{traceback.format_exc()}")
            self.items = []
            self.loaded = True
            self._show_empty(
                True,
                f"`{' '.join(self.COMMAND)}` failed: {type(exc).__name__}: {exc}\n\n"
                "Close and reopen the panel to retry.",
            )
            return
        if result.exit_code != 0:
            self.items = []
            self.loaded = True
            reason = result.error.message if result.error else (result.text or "failed")
            self._show_empty(True, f"{reason}\n\n{self.EMPTY}")
            return
        self.items = self.extract(result.data)
        self.loaded = True
        table = self.query_one("#table", DataTable)
        table.clear()
        for index, item in enumerate(self.items):
            table.add_row(*[_cell(v) for v in self.row(item)], key=str(index))
        if not self.items:
            self._show_empty(True, self.EMPTY)
            return
        self._show_empty(False)
        self.show_details(0)

    def extract(self, data: Any) -> list[dict[str, Any]]:
        return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []

    def row(self, item: dict[str, Any]) -> list[Any]:
        raise NotImplementedError

    def details(self, item: dict[str, Any]) -> RenderableType:
        raise NotImplementedError

    def show_details(self, index: int) -> None:
        if 0 <= index < len(self.items):
            self.selected = self.items[index]
            self.query_one("#details", Static).update(self.details(self.selected))

    def details_plain(self) -> str:
        """The selected row's details as plain text (for tests and copying)."""
        if self.selected is None:
            return ""
        console = Console(width=80, file=io.StringIO(), color_system=None)
        console.print(self.details(self.selected))
        return console.file.getvalue()  # type: ignore[attr-defined, no-any-return]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_details(event.cursor_row)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.show_details(event.cursor_row)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def field_lines(pairs: list[tuple[str, Any]]) -> Text:
    """``label: value`` lines, skipping empty values."""
    text = Text()
    for label, value in pairs:
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        text.append(f"{label}: ", style="bold")
        text.append(f"{value}\n")
    return text
