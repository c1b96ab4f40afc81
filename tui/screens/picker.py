"""A modal list to pick one item (a session to resume, a model): typing filters the list,
Up/Down move in it, Enter picks, Esc cancels.

Labels are drawn as they are (no markup: they hold session titles, which users typed).
The filter keeps the items whose label holds every word typed (any order, any case): "fix
parser" finds "2026-11-30 09:12  Fix the tokenizer parser  openai/gpt-4o  12 msgs".
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from opencode.tui.safe_text import one_line

# Sessions offered by /sessions: the filter must reach old ones too (it searched only the
# latest 100); filtering 1,000 rows stays well under a frame per key (docs/tui-probe-2026-11-30).
PICKER_SESSIONS = 1000


def matches(label: str, query: str) -> bool:
    """Whether ``label`` holds every word of ``query`` (case-insensitive)."""
    folded = label.casefold()
    return all(word in folded for word in query.casefold().split())


def _option(value: str, label: str) -> Option:
    # Content, not a str: a str prompt is parsed as markup, and labels hold what users typed
    # (a session titled "see [link=https://x]" stopped the app when the list was drawn).
    # one_line: a title is the start of a message; an ESC in it must not reach the terminal.
    return Option(Content(one_line(label)), id=value)


class PickerScreen(ModalScreen[str | None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        # The filter box has focus; the list follows the arrows from there.
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
        Binding("pagedown", "move(10)", show=False),
        Binding("pageup", "move(-10)", show=False),
    ]

    def __init__(self, title: str, items: list[tuple[str, str]], *, empty: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.items = items
        self.empty = empty
        self.shown: list[tuple[str, str]] = list(items)  # the items the filter keeps

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static(Content(self.title_text), id="picker-title")
            if self.items:
                yield Input(placeholder="type to filter", id="picker-filter")
                yield OptionList(
                    *[_option(value, label) for value, label in self.items], id="options"
                )
                nothing = Static("Nothing matches.", id="picker-nomatch")
                nothing.display = False
                yield nothing
                help_text = "type to filter · ↑↓ move · Enter pick · Esc cancel"
            else:
                yield Static(self.empty or "Nothing to pick.", id="picker-empty")
                help_text = "Esc close"
            yield Static(help_text, id="picker-help")

    def on_mount(self) -> None:
        if self.items:
            self.query_one("#options", OptionList).highlighted = 0
            self.query_one("#picker-filter", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.shown = [(v, label) for v, label in self.items if matches(label, event.value)]
        options = self.query_one("#options", OptionList)
        options.clear_options()
        options.add_options([_option(value, label) for value, label in self.shown])
        options.display = bool(self.shown)
        self.query_one("#picker-nomatch").display = not self.shown
        if self.shown:
            options.highlighted = 0

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one("#options", OptionList)
        index = options.highlighted
        if index is None or not self.shown:
            return  # nothing matches: Enter picks nothing, the filter stays to be edited
        self.dismiss(options.get_option_at_index(index).id)

    def action_move(self, step: int) -> None:
        found = self.query("#options")
        if not found or not self.shown:
            return
        options = self.query_one("#options", OptionList)
        current = options.highlighted or 0
        options.highlighted = max(0, min(len(self.shown) - 1, current + step))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
