"""The workspace-trust prompt, shown on start in an untrusted project that has its own
settings (hooks, MCP servers, permission rules; see sessions/trust.py).

``t`` trusts the project (as ``opencode trust`` would), ``n`` or Esc goes on without its
settings; Tab/arrows and Enter work the buttons. Dismisses with True (trust) or False. As in the
permission prompt, keys typed while it is new (someone already typing a first message) do not
answer it: it is armed only once no key has arrived for ``ARMING_S``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from opencode.tui.screens.armed import ArmedModal


class TrustScreen(ArmedModal[bool]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    SAFE_BUTTON = "not_now"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "answer(True)", "Trust"),
        Binding("n", "answer(False)", "Not now"),
        Binding("escape", "answer(False)", "Not now", show=False),
        Binding("left", "app.focus_previous", show=False),
        Binding("right", "app.focus_next", show=False),
    ]

    def __init__(self, root: Path, reason: str, ignored: list[str]) -> None:
        super().__init__()
        self.root = root
        self.reason = reason
        self.ignored = ignored

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            title = Text()
            title.append("Trust this project? ", style="bold")
            title.append(str(self.root), style="bold magenta")
            yield Static(title, id="title")
            body = Text(
                f"It is untrusted ({self.reason}). Its own settings can run commands and "
                "loosen permissions; until you trust it they are ignored:\n"
            )
            for item in self.ignored:
                body.append(f"  • {item}\n")
            body.append("Trust it only if you trust where it came from.", style="italic")
            with VerticalScroll(id="details"):
                yield Static(body)
            with Horizontal(id="buttons"):
                yield Button("Trust (t)", id="trust", variant="warning")
                yield Button("Not now (n)", id="not_now", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if self._deliberate():
            self.dismiss(event.button.id == "trust")

    def action_answer(self, answer: bool) -> None:
        if self._deliberate():
            self.dismiss(answer)
