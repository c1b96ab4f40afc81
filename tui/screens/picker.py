"""A modal list to pick one item (a session to resume, a model): Enter picks, Esc cancels."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class PickerScreen(ModalScreen[str | None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, title: str, items: list[tuple[str, str]], *, empty: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.items = items
        self.empty = empty

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static(self.title_text, id="picker-title")
            if self.items:
                yield OptionList(
                    *[Option(label, id=value) for value, label in self.items], id="options"
                )
            else:
                yield Static(self.empty or "Nothing to pick.", id="picker-empty")
            yield Static("Enter pick · Esc cancel", id="picker-help")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
