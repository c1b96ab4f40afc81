"""The status line: model, session title, tokens and cost, the context meter, the provider
layer's last word (a fallback answered, a breaker is open), and whether a turn is streaming."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

if TYPE_CHECKING:
    from opencode.sessions.providers.resilience.chain import Notice


def _tokens(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 10_000 else str(n)


def _k(n: int) -> str:
    """A compact count for the meter: 950, 12k, 128k, 1.0M."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 1000:
        return f"{round(n / 1000)}k"
    return str(n)


def context_meter(used: int, window: int | None) -> str:
    """``ctx 12k/128k 9%``; ``ctx 12k`` when the window is unknown."""
    if not window:
        return f"ctx {_k(used)}"
    return f"ctx {_k(used)}/{_k(window)} {min(999, round(100 * used / window))}%"


def notice_note(notice: Notice) -> str | None:
    """The few words a provider decision earns on the status line; None: nothing to show."""
    if notice.kind == "answered" and notice.requested not in (None, notice.ref):
        return f"answered by {notice.ref} ({notice.requested} failed)"
    if notice.kind == "skipped" and "breaker" in notice.text:
        return f"breaker open: {notice.ref}"
    if notice.kind in ("rate_wait", "retry_wait"):
        return f"waiting {notice.seconds:.0f} s ({notice.ref})"
    if notice.kind == "exhausted":
        return "every model of the chain failed"
    return None


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
    context_used: reactive[int] = reactive(0)
    context_window: reactive[int] = reactive(0)  # 0: unknown
    note: reactive[str] = reactive("")  # the provider layer's last word this turn

    def show_context(self, usage: tuple[int, int | None] | None) -> None:
        """``Engine.context_usage()``: (tokens of the last call, window or None) or None."""
        self.context_used, self.context_window = (usage[0], usage[1] or 0) if usage else (0, 0)

    def show_notice(self, notice: Notice) -> None:
        """An ``Engine.on_notice`` observer. A waiting note is replaced by what follows it."""
        note = notice_note(notice)
        if note is not None:
            self.note = note
        elif notice.kind == "attempt" and self.note.startswith("waiting"):
            self.note = ""

    def watch_state(self, state: str) -> None:
        if state == "streaming":
            self.note = ""  # a new turn: last turn's fallback note is history

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(self.model or "(no model)", style="bold")
        text.append("  ·  ")
        text.append(self.title or "new session")
        if self.input_tokens or self.output_tokens:
            text.append(f"  ·  ↑{_tokens(self.input_tokens)} ↓{_tokens(self.output_tokens)} tokens")
        if self.cost:
            text.append(f"  ·  ${self.cost:.4f}")
        if self.context_used and self.context_window:  # a meter needs its scale
            share = self.context_used / self.context_window
            meter_style = "bold red" if share >= 0.9 else "yellow" if share >= 0.75 else ""
            text.append("  ·  ")
            meter = context_meter(self.context_used, self.context_window)
            text.append(meter, style=meter_style)
        if self.note:
            text.append("  ·  ")
            text.append(self.note, style="yellow")
        text.append("  ·  ")
        style = {"streaming": "bold green", "error": "bold red", "interrupted": "yellow"}
        text.append(self.state, style=style.get(self.state, ""))
        return text
