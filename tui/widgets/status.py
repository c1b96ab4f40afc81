"""The status line: model, session title, tokens and cost, and whether a turn is streaming."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static


def _tokens(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 10_000 else str(n)


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
    }
    """

    model: reactive[str] = reactive("")
    title: reactive[str] = reactive("")
    input_tokens: reactive[int] = reactive(0)
    output_tokens: reactive[int] = reactive(0)
    cost: reactive[float] = reactive(0.0)
    state: reactive[str] = reactive("ready")

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(self.model or "(no model)", style="bold")
        text.append("  ·  ")
        text.append(self.title or "new session")
        if self.input_tokens or self.output_tokens:
            text.append(f"  ·  ↑{_tokens(self.input_tokens)} ↓{_tokens(self.output_tokens)} tokens")
        if self.cost:
            text.append(f"  ·  ${self.cost:.4f}")
        text.append("  ·  ")
        style = {"streaming": "bold green", "error": "bold red", "interrupted": "yellow"}
        text.append(self.state, style=style.get(self.state, ""))
        return text
