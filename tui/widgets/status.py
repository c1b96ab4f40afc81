"""The status line: model, session title, tokens and cost, the context meter, the engine's last
word (a fallback answered, a breaker is open, a rate-limit or retry wait, the context compacted),
and whether a turn is streaming. Waits, compactions and MCP server problems also get a toast:
the line may be cut short in a narrow terminal, and a wait is worth seeing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

if TYPE_CHECKING:
    from opencode.sessions.compaction import Compaction
    from opencode.sessions.providers.resilience.chain import Notice

WAITS = ("rate_wait", "retry_wait")


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
    if notice.kind in WAITS:
        if notice.reason and notice.provider:
            seconds = f"{notice.seconds:.0f}" if notice.seconds >= 1 else f"{notice.seconds:.1f}"
            if notice.kind == "retry_wait":  # "rate limited by openrouter, retrying in 12 s"
                return f"{notice.reason} by {notice.provider}, retrying in {seconds} s"
            return f"{notice.reason} for {notice.provider}: waiting {seconds} s"
        return notice.text
    if notice.kind == "wait_refused" and notice.reason and notice.provider:
        return f"{notice.reason} by {notice.provider} for {notice.seconds:.0f} s: not waiting"
    if notice.kind == "exhausted":
        return "every model of the chain failed"
    return None


COMPACTING = "compacting context…"
COMPACTION_FAILED = "context not compacted (summary failed or cancelled): whole history sent"


def compaction_note(done: Compaction) -> str:
    """``context compacted: 48k -> 9k tokens`` (estimates; every message stays stored)."""
    if done.tokens_before is None or done.tokens_after is None:
        return "context compacted: older turns summarised"
    return f"context compacted: {_k(done.tokens_before)} -> {_k(done.tokens_after)} tokens"


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
    note: reactive[str] = reactive("")  # the engine's last word this turn
    _waiting = False  # the note is a wait, cleared when the call is made

    def show_context(self, usage: tuple[int, int | None] | None) -> None:
        """``Engine.context_usage()``: (tokens of the last call, window or None) or None."""
        self.context_used, self.context_window = (usage[0], usage[1] or 0) if usage else (0, 0)

    def show_notice(self, notice: Notice) -> None:
        """An ``Engine.on_notice`` observer. A waiting note is replaced by what follows it."""
        note = notice_note(notice)
        if note is not None:
            self.note = note
            self._waiting = notice.kind in WAITS
            if self._waiting and notice.seconds >= 1:
                self.notify(
                    note, title="Waiting", timeout=max(3.0, min(notice.seconds, 10.0)), markup=False
                )
        elif notice.kind == "attempt" and self._waiting:
            self.note = ""
            self._waiting = False

    def show_compacting(self, running: bool) -> None:
        """An ``Engine.on_compacting`` observer: the summary call of an automatic compaction
        runs (seconds before the turn's own call). ``show_compaction`` follows when it
        succeeded; ``running=False`` when it failed (the turn goes on with the whole history)."""
        if running:
            self.note = COMPACTING
        elif self.note == COMPACTING:
            self.note = COMPACTION_FAILED
        self._waiting = False

    def show_compaction(self, done: Compaction) -> None:
        """An ``Engine.on_compacted`` observer: an automatic compaction before a turn."""
        self.note = compaction_note(done)
        self._waiting = False
        self.notify(f"{self.note} (every message stays stored)", timeout=8, markup=False)

    def show_warning(self, line: str) -> None:
        """An ``Engine.mcp_warn`` observer: an MCP server problem, as a toast (under the TUI
        a line on stderr would land on the screen or nowhere)."""
        self.notify(line, title="MCP", severity="warning", timeout=10, markup=False)

    def watch_state(self, state: str) -> None:
        if state == "streaming":
            self.note = ""  # a new turn: last turn's fallback note is history

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(self.model or "(no model)", style="bold")
        text.append("  ·  ")
        title_at = len(text)
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
        text = _fit_title(text, title_at, len(self.title or "new session"), self.size.width)
        state_len = len(self.state) + 5
        if text.cell_len > self.size.width > state_len:  # a long note too: the state stays
            head, tail = text[: len(text) - state_len], text[len(text) - state_len :]
            head.truncate(self.size.width - state_len, overflow="ellipsis")
            text = Text.assemble(head, tail, no_wrap=True, overflow="ellipsis")
        return text


def _fit_title(text: Text, start: int, length: int, width: int) -> Text:
    """Shorten the title (``length`` cells from ``start``) so the line fits ``width``: cut at
    the end, the state (ready, streaming, error) went past the right edge at 80 columns once
    the title was a long first message."""
    excess = text.cell_len - width
    if width <= 0 or excess <= 0:
        return text
    keep = max(length - excess - 1, 8)  # a title of a few characters still names the session
    if keep >= length:
        return text
    return Text.assemble(
        text[: start + keep], "…", text[start + length :], no_wrap=True, overflow="ellipsis"
    )
