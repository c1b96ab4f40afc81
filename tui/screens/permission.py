"""The permission prompt: a modal asking whether a tool call may run.

Keys: ``a`` allow once, ``d`` or Esc deny; Tab/arrows move between the buttons and Enter
presses one. Allowing for the whole session has no one-letter key: it takes moving to its
button and pressing it. Dismisses with the ``PermissionAnswer`` string; the runner persists the
decision with the session.

The modal opens while the user may still be typing into the prompt: keys already on their way
(and any typed while the modal is new) must not answer it. It is armed only once no key has
arrived for ``ARMING_S``; an answer before that is ignored and restarts the wait.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from opencode.tui.screens.armed import ArmedModal


class PermissionScreen(ArmedModal[str]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    SAFE_BUTTON = "allow_once"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "answer('allow_once')", "Allow once"),
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
                yield Button("Allow for session", id="allow_session", variant="success")
                yield Button("Deny (d)", id="deny", variant="error")

    COMPACT_BELOW = (72, 26)  # width, height under which the dialog fills the screen

    def on_resize(self, event: events.Resize) -> None:
        width, height = self.COMPACT_BELOW
        self.set_class(event.size.width < width or event.size.height < height, "-compact")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id and self._deliberate():
            self.dismiss(event.button.id)

    def action_answer(self, answer: str) -> None:
        if self._deliberate():
            self.dismiss(answer)
