"""Subagents in the transcript: each child session of a ``task`` call as a nested, live block.

``SubagentRouter`` takes the events of child sessions (they share the parent's bus, each with
its own session id; ``SessionStarted.parent_id``/``parent_call_id`` say where a child hangs)
and feeds them to a ``SubagentView`` mounted inside the parent's ``task`` tool-call widget, or
inside another ``SubagentView`` for a grandchild. A view is one line (status, title, the tail of
its latest text) that Enter or a click expands to the child's transcript: its tool calls,
errors and text, as lines. Header refreshes are throttled to a frame timer, never per token.

A reopened session replays its children the same way (``opencode.tui.replay``), into widgets
not mounted yet: the router keeps those views in ``pending`` until the history is mounted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

from opencode.sessions.events import (
    ErrorOccurred,
    MessageStarted,
    PartDelta,
    PartStarted,
    SessionEvent,
    SessionStarted,
    ToolFinished,
    ToolStarted,
    TurnFinished,
)
from opencode.tui.safe_text import one_line, visible
from opencode.tui.widgets.tool_call import SPINNER, STATUS_MARK, key_argument

MAX_LINES = 400  # of a child's transcript kept for the expanded view
TAIL_CHARS = 70  # of its latest text shown on the header line
_FINISH_STATUS = {"stop": "completed", "length": "completed", "interrupted": "interrupted"}


class SubagentView(Vertical, can_focus=True):
    """One child session, live."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "expand", "Expand", show=False),
        Binding("space", "expand", "Expand", show=False),
    ]

    DEFAULT_CSS = """
    SubagentView { height: auto; margin-left: 2; }
    SubagentView > .subagent-header { height: 1; color: $text-muted; }
    SubagentView:focus > .subagent-header { background: $boost; color: $text; }
    SubagentView > .subagent-body {
        display: none; height: auto; padding: 0 0 0 2; margin-left: 1;
        border-left: outer $secondary 50%;
    }
    SubagentView.-expanded > .subagent-body { display: block; }
    """

    def __init__(self, session_id: str, title: str, model: str) -> None:
        super().__init__()
        self.session_id = session_id
        self.title = title
        self.model = model
        self.status = "running"
        self.lines: list[str] = []
        self.text = ""  # the text of its latest assistant message
        self.expanded = False
        self._in_user = False  # inside the child's own prompt (not shown)
        self._frame = 0
        self._dirty = True
        self._header = Static(classes="subagent-header")
        self._body = Static(classes="subagent-body")

    def compose(self) -> ComposeResult:
        yield self._header
        yield self._body

    def on_mount(self) -> None:
        self._render_header()
        self._timer = self.set_interval(0.1, self._tick)

    def apply(self, event: SessionEvent) -> None:
        if isinstance(event, PartDelta):
            if event.kind == "text":
                self.text += event.text
                self._dirty = True
            return
        if isinstance(event, MessageStarted):
            self._in_user = event.role == "user"
            if not self._in_user:
                self._flush_text()
        elif isinstance(event, PartStarted):
            # A stored part arrives whole (replayed history); live ones start empty.
            if event.kind == "text" and event.content and not self._in_user:
                self.text += event.content
        elif isinstance(event, ToolStarted):
            self._flush_text()
            self._line(f"→ {event.tool} {key_argument(event.tool, event.arguments)}".rstrip())
        elif isinstance(event, ToolFinished):
            mark = STATUS_MARK.get(event.status, "?")
            first = event.output.strip().splitlines()[0][:80] if event.output.strip() else ""
            self._line(
                f"{mark} {event.tool}" + (f": {first}" if event.status != "completed" else "")
            )
        elif isinstance(event, ErrorOccurred):
            self._line(f"error: {event.message}")
        elif isinstance(event, TurnFinished):
            self.status = _FINISH_STATUS.get(event.finish, "error")
            if event.error:
                self._line(f"ended: {event.error}")
        self._dirty = True

    def header_text(self) -> Text:
        mark = SPINNER[self._frame % len(SPINNER)] if self.status == "running" else None
        style = {"completed": "green", "error": "red", "interrupted": "yellow"}.get(self.status)
        text = Text()
        text.append(f"{mark or STATUS_MARK.get(self.status, '?')} ", style=style or "")
        text.append(one_line(self.title or "subagent"), style="bold")
        tail = " ".join(self.text.split())[-TAIL_CHARS:]
        if tail:
            text.append(f"  {one_line(tail)}", style="dim")
        return text

    def transcript_text(self) -> str:
        lines = list(self.lines)
        if self.text.strip():
            lines.append(self.text.strip())
        return "\n".join(lines) or "(nothing yet)"

    def _line(self, line: str) -> None:
        self.lines.append(line)
        del self.lines[:-MAX_LINES]

    def _flush_text(self) -> None:
        if self.text.strip():
            self._line(self.text.strip())
        self.text = ""

    def _tick(self) -> None:
        if self.status == "running":
            self._frame += 1
            self._dirty = True
        if self._dirty:
            self._render_header()

    def _render_header(self) -> None:
        self._dirty = False
        self._header.update(self.header_text())
        if self.expanded:
            self._body.update(Text(visible(self.transcript_text())))

    def action_expand(self) -> None:
        self.expanded = not self.expanded
        self.set_class(self.expanded, "-expanded")
        self._render_header()

    def on_click(self, event: events.Click) -> None:
        event.stop()  # the parent's tool-call widget must not toggle too
        self.action_expand()


class SubagentRouter:
    """Sends child-session events to their views; ``route`` says whether it took the event."""

    def __init__(self) -> None:
        self.views: dict[str, SubagentView] = {}
        # Views whose host is not mounted yet (history being built): mounted by the
        # transcript once the history is (``mount_pending``).
        self.pending: list[tuple[Widget, SubagentView]] = []

    def route(
        self, event: SessionEvent, root_session_id: str | None, tools: Mapping[str, Widget]
    ) -> bool:
        if isinstance(event, SessionStarted) and event.parent_id and event.parent_call_id:
            host: Widget | None = None
            if event.parent_id == root_session_id:
                host = tools.get(event.parent_call_id)
            else:
                host = self.views.get(event.parent_id)
            if host is None:
                return False
            child = SubagentView(event.session_id, event.title, event.model)
            self.views[event.session_id] = child
            if host.is_attached:
                host.mount(child)
            else:
                self.pending.append((host, child))
            return True
        view = self.views.get(event.session_id)
        if view is None:
            return False
        view.apply(event)
        return True

    async def mount_pending(self) -> None:
        """Mount the views built with the history into their (now mounted) hosts, parents
        before their own children. A host that did not get mounted keeps none."""
        pending, self.pending = self.pending, []
        for host, child in pending:
            if host.is_attached:
                await host.mount(child)
