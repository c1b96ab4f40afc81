"""The permission prompt: a modal asking whether a tool call may run.

Keys: ``a`` allow once, ``s`` allow for this session, ``d`` or Esc deny; Tab/arrows move
between the buttons and Enter presses one. Dismisses with the ``PermissionAnswer`` string; the
runner persists the decision with the session.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class PermissionScreen(ModalScreen[str]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "answer('allow_once')", "Allow once"),
        Binding("s", "answer('allow_session')", "Allow for session"),
        Binding("d", "answer('deny')", "Deny"),
        Binding("escape", "answer('deny')", "Deny", show=False),
        Binding("left", "app.focus_previous", show=False),
        Binding("right", "app.focus_next", show=False),
    ]

    def __init__(self, tool: str, subject: str, arguments: dict[str, Any]) -> None:
        super().__init__()
        self.tool = tool
        self.subject = subject
        self.arguments = arguments

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            title = Text()
            title.append("Allow ", style="bold")
            title.append(self.tool, style="bold magenta")
            title.append("?", style="bold")
            yield Static(title, id="title")
            yield Static(Text(self.subject), id="subject")
            with VerticalScroll(id="arguments"):
                yield Static(
                    Syntax(
                        json.dumps(self.arguments, indent=2, ensure_ascii=False),
                        "json",
                        theme="monokai",
                        word_wrap=True,
                        background_color="default",
                    )
                )
            with Horizontal(id="buttons"):
                yield Button("Allow once (a)", id="allow_once", variant="primary")
                yield Button("Allow for session (s)", id="allow_session", variant="success")
                yield Button("Deny (d)", id="deny", variant="error")

    def on_mount(self) -> None:
        self.query_one("#allow_once", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id:
            self.dismiss(event.button.id)

    def action_answer(self, answer: str) -> None:
        self.dismiss(answer)
