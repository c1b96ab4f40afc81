"""A tool call in the transcript: one compact line that expands to its arguments and output.

The header reads ``<status> tool  key-argument  duration``; the status is a spinner while the
tool runs and ✓ / ✗ / ⊘ (denied) after. Enter or a click toggles the body: arguments as
highlighted JSON, the output (highlighted by the file's lexer for ``read``), and for
``edit``/``write`` the unified diff the tool reported. ``todowrite`` reads as the list's
counts in the header and as the checklist in the body, never as its JSON.

While a command runs, its latest ``LIVE_LINES`` lines of output show under the header
(``add_live_output``, fed by ``ToolOutputDelta`` through ``running_view``); the final result
replaces them when the call ends.
"""

from __future__ import annotations

import json
import weakref
from collections import deque
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from opencode.tui.safe_text import one_line, visible
from opencode.tui.widgets.terminal_text import after_carriage_return, plain_safe, terminal_text

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
STATUS_MARK = {"completed": "✓", "error": "✗", "denied": "⊘", "interrupted": "■"}
KEY_ARGS = ("path", "file_path", "command", "pattern", "query", "url", "name")
OUTPUT_LIMIT = 20_000
THEME = "monokai"
LIVE_LINES = 10
LIVE_LINE_CHARS = 500  # a longer line is cut: the view shows one row per line anyway

# Running calls by call id, so live output finds its view without walking the DOM. Weak: a
# view unmounted with its message (pruned, cleared) is not kept alive by this map.
_RUNNING: weakref.WeakValueDictionary[str, ToolCallView] = weakref.WeakValueDictionary()


def running_view(call_id: str) -> ToolCallView | None:
    """The view of the running call ``call_id``, if one is on screen."""
    return _RUNNING.get(call_id)


def key_argument(tool: str, arguments: dict[str, Any]) -> str:
    """The argument that says what the call is about, shortened to one line."""
    if tool == "todowrite":
        from opencode.sessions.todos import summary, todos_from_json

        return summary(todos_from_json(arguments.get("todos")))
    if tool == "todoread":
        return ""
    for key in KEY_ARGS:
        value = arguments.get(key)
        if isinstance(value, str) and value:
            line = value.splitlines()[0] if value.strip() else value
            return line if len(line) <= 60 else line[:57] + "..."
    if arguments:
        first = next(iter(arguments.values()))
        text = json.dumps(first, ensure_ascii=False) if not isinstance(first, str) else first
        return text[:60]
    return ""


# How the user's answer (or the rule that answered) reads in a tool call's header.
PERMISSION_WORDS = {
    ("allow", "allow_once"): "allowed once",
    ("allow", "allow_session"): "allowed for this session",
    ("deny", "deny"): "denied by you",
    ("deny", "config"): "denied by config",
    ("allow", "config"): "allowed by config",
}


def permission_tag(decision: str, reason: str) -> str:
    """``allowed once``, ``denied by config``...; never ``deny: deny``."""
    words = PERMISSION_WORDS.get((decision, reason))
    if words:
        return words
    verb = {"allow": "allowed", "deny": "denied"}.get(decision, decision)
    return f"{verb}: {reason}" if reason and reason != decision else verb


def format_duration(ms: int | None) -> str:
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms}ms"
    return f"{ms / 1000:.1f}s"


def _lexer_for(path: str) -> str:
    from pygments.lexers import get_lexer_for_filename  # type: ignore[import-untyped]
    from pygments.util import ClassNotFound  # type: ignore[import-untyped]

    try:
        return str(get_lexer_for_filename(path).aliases[0])
    except (ClassNotFound, IndexError):
        return "text"


class ToolCallView(Vertical, can_focus=True):
    """One tool call; ``finish`` is called with the ``ToolFinished`` data."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "expand", "Expand", show=False),
        Binding("space", "expand", "Expand", show=False),
    ]

    DEFAULT_CSS = """
    ToolCallView {
        height: auto;
        margin: 0 0 0 0;
    }
    ToolCallView > .tool-header {
        height: 1;
        color: $text-muted;
    }
    ToolCallView.-after-text {
        margin-top: 1;
    }
    ToolCallView:focus > .tool-header {
        background: $boost;
        color: $text;
    }
    ToolCallView.-error > .tool-header, ToolCallView.-denied > .tool-header {
        color: $text-error;
    }
    ToolCallView > .tool-live {
        display: none;
        height: auto;
        max-height: 10;
        padding: 0 0 0 2;
        color: $text-muted;
    }
    ToolCallView.-live > .tool-live {
        display: block;
    }
    ToolCallView > .tool-body {
        display: none;
        height: auto;
        padding: 0 0 0 2;
        border-left: outer $primary 50%;
        margin-left: 1;
    }
    ToolCallView.-expanded > .tool-body {
        display: block;
    }
    """

    def focus_on_click(self) -> bool:
        # A click expands; focus stays where the user types (Tab still reaches tool calls).
        return False

    def __init__(
        self,
        tool: str,
        arguments: dict[str, Any],
        *,
        call_id: str = "",
        status: str = "running",
        output: str = "",
        duration_ms: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.tool = tool
        self.arguments = arguments
        self.call_id = call_id
        self.status = status
        self.output = output
        self.duration_ms = duration_ms
        self.metadata = metadata or {}
        self.permission: str | None = None
        self._frame = 0
        self._header = Static(classes="tool-header")
        self._live = Static(classes="tool-live")
        self._body = Static(classes="tool-body")
        self.expanded = False
        # The last lines a running command printed (bounded), and how much scrolled past.
        self.live_lines: deque[str] = deque(maxlen=LIVE_LINES)
        self.live_chars = 0
        self._live_partial = ""  # the line being written (after its last ``\r``), unended
        if status == "running" and call_id:
            _RUNNING[call_id] = self

    def compose(self) -> ComposeResult:
        yield self._header
        yield self._live
        yield self._body

    def on_mount(self) -> None:
        self._update_header()
        if self.status == "running":
            self._timer = self.set_interval(0.1, self._spin)

    def _spin(self) -> None:
        if self.status != "running":
            self._timer.stop()
            return
        self._frame += 1
        self._update_header()

    @property
    def exit_code(self) -> int | None:
        """A command's non-zero exit code: the call completed, what it ran failed."""
        code = self.metadata.get("exit_code")
        return code if isinstance(code, int) and not isinstance(code, bool) and code else None

    @property
    def mark(self) -> str:
        if self.status == "running":
            return SPINNER[self._frame % len(SPINNER)]
        if self.status == "completed" and self.exit_code is not None:
            return STATUS_MARK["error"]
        return STATUS_MARK.get(self.status, "?")

    def header_text(self) -> Text:
        text = Text()
        style = {"completed": "green", "error": "red", "denied": "yellow"}.get(self.status, "")
        if self.exit_code is not None:
            style = "red"
        text.append(f"{self.mark} ", style=style)
        text.append(self.tool, style="bold")
        arg = key_argument(self.tool, self.arguments)
        if self.tool == "todoread" and "todos" in self.metadata:
            from opencode.sessions.todos import summary, todos_from_json

            arg = summary(todos_from_json(self.metadata["todos"]))
        if arg:
            text.append(f"  {one_line(plain_safe(arg))}")
        if self.permission:
            text.append(f"  [{self.permission}]", style="dim")
        if self.exit_code is not None:
            text.append(f"  exit {self.exit_code}", style="bold red")
        if self.duration_ms is not None:
            text.append(f"  {format_duration(self.duration_ms)}", style="dim")
        if self.status in ("error", "denied") and self.output.strip():
            # The reason, inline: an error should not need a click to be read.
            first = plain_safe(self.output).strip().splitlines()[0]
            text.append(f"  — {first[:80] + ('…' if len(first) > 80 else '')}", style="red")
        return text

    def _update_header(self) -> None:
        self._header.update(self.header_text())

    def set_permission(self, decision: str, reason: str) -> None:
        self.permission = permission_tag(decision, reason)
        self._update_header()

    def add_live_output(self, text: str, dropped: int = 0) -> None:
        """Output a running command printed (a ``ToolOutputDelta``: whole lines, or a line
        so far that ended in ``\\r``): keep the last ``LIVE_LINES`` and show them under the
        header until the call finishes. A line rewritten after ``\\r`` (a progress bar) shows
        its last state, in one row."""
        if self.status != "running":
            return
        self.live_chars += len(text) + dropped
        pieces = (self._live_partial + text).split("\n")
        for line in pieces[:-1][-LIVE_LINES:]:
            self.live_lines.append(after_carriage_return(line)[:LIVE_LINE_CHARS])
        partial = pieces[-1]
        if "\r" in partial or len(partial) > LIVE_LINE_CHARS:
            # Only its last state can show: keep that, bounded, whatever a bar prints.
            ended = partial.endswith("\r")
            partial = after_carriage_return(partial)[:LIVE_LINE_CHARS] + ("\r" if ended else "")
        self._live_partial = partial
        rows = list(self.live_lines)
        if after_carriage_return(partial):
            rows = [*rows[-(LIVE_LINES - 1) :], after_carriage_return(partial)]
        # Colours as the command printed them; other escape sequences are dropped, never
        # passed to the terminal.
        self._live.update(terminal_text("\n".join(rows), no_wrap=True, overflow="ellipsis"))
        self.add_class("-live")

    def finish(
        self, status: str, output: str, duration_ms: int | None, metadata: dict[str, Any]
    ) -> None:
        if _RUNNING.get(self.call_id) is self:
            del _RUNNING[self.call_id]
        self.live_lines.clear()
        self._live_partial = ""
        self.remove_class("-live")
        self.status = status
        self.output = output
        self.duration_ms = duration_ms
        self.metadata = metadata
        self.set_class(status == "error" or self.exit_code is not None, "-error")
        self.set_class(status == "denied", "-denied")
        self._update_header()
        if self.expanded:
            self._body.update(self.body())

    def body(self) -> RenderableType:
        if self.tool in ("todowrite", "todoread"):
            return self._todo_body()
        parts: list[RenderableType] = [Text("arguments", style="bold dim")]
        args = json.dumps(self.arguments, indent=2, ensure_ascii=False)
        parts.append(
            Syntax(visible(args), "json", theme=THEME, word_wrap=True, background_color="default")
        )
        diff = self.metadata.get("diff")
        if isinstance(diff, str) and diff.strip():
            parts.append(Text("diff", style="bold dim"))
            parts.append(
                Syntax(
                    visible(diff.rstrip()),
                    "diff",
                    theme=THEME,
                    word_wrap=True,
                    background_color="default",
                )
            )
        if self.output:
            parts.append(Text("output", style="bold dim"))
            output = self.output
            if len(output) > OUTPUT_LIMIT:
                output = (
                    output[:OUTPUT_LIMIT] + f"\n… ({len(self.output) - OUTPUT_LIMIT} more chars)"
                )
            path = self.arguments.get("path")
            if self.tool == "read" and isinstance(path, str):
                parts.append(
                    Syntax(
                        plain_safe(output).rstrip(),
                        _lexer_for(path),
                        theme=THEME,
                        word_wrap=True,
                        background_color="default",
                    )
                )
            else:
                # What a command printed may hold escapes: colours kept, nothing else.
                parts.append(terminal_text(output.rstrip()))
        elif self.status == "running":
            parts.append(Text("running…", style="dim"))
        return Group(*parts)

    def _todo_body(self) -> RenderableType:
        """The checklist the call wrote (or read), then any note or error the model got."""
        from opencode.sessions.todos import MARKS, todos_from_json

        source = self.metadata.get("todos", self.arguments.get("todos"))
        todos = todos_from_json(source)
        text = Text()
        for todo in todos:
            text.append(f"{MARKS[todo.status]} {plain_safe(todo.content)}\n")
        warnings = self.metadata.get("warnings")
        if self.status in ("error", "denied"):
            text.append(plain_safe(self.output).strip(), style="red")
        elif isinstance(warnings, list) and warnings:
            text.append("note: " + "\n".join(map(str, warnings)), style="yellow")
        elif not todos and self.status != "running":
            text.append("(empty list)", style="dim")
        text.rstrip()
        return text if text.plain else Text("running…", style="dim")

    def action_expand(self) -> None:
        self.expanded = not self.expanded
        if self.expanded:
            self._body.update(self.body())
        self.set_class(self.expanded, "-expanded")

    def on_click(self) -> None:
        self.action_expand()
