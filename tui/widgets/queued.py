"""Messages typed while a turn runs: queued above the prompt, sent when the turn ends.

Enter during a turn never throws text away (as Claude Code, Codex and opencode do): the text
joins this queue, shown dimmed above the prompt. When the turn ends normally the first queued
message is sent as the next turn; when it is interrupted or fails, everything queued goes
back into the prompt to be edited or sent again. Up in an empty prompt takes the last queued
message back into the prompt (to edit it, or to delete it: cancelling it).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

PREVIEW = 2  # lines of each queued message shown


class QueuedPrompts(Static):
    DEFAULT_CSS = """
    QueuedPrompts {
        display: none;
        height: auto;
        max-height: 8;
        padding: 0 1;
        color: $text-muted;
    }
    QueuedPrompts.-visible { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.items: list[str] = []

    def __len__(self) -> int:
        return len(self.items)

    def add(self, text: str) -> None:
        self.items.append(text)
        self._show()

    def pop_first(self) -> str | None:
        text = self.items.pop(0) if self.items else None
        self._show()
        return text

    def pop_last(self) -> str | None:
        text = self.items.pop() if self.items else None
        self._show()
        return text

    def take_all(self) -> list[str]:
        items, self.items = self.items, []
        self._show()
        return items

    def _show(self) -> None:
        text = Text()
        for index, item in enumerate(self.items):
            if index:
                text.append("\n")
            lines = item.splitlines() or [""]
            preview = "\n  ".join(lines[:PREVIEW]) + (" …" if len(lines) > PREVIEW else "")
            text.append("⏎ queued  ", style="bold")
            text.append(preview)
        if self.items:
            text.append("\n")
            text.append("sent when the turn ends · ↑ in an empty prompt to edit", style="dim")
        self.update(text)
        self.set_class(bool(self.items), "-visible")
