"""The conversation: a scrolling column of messages, fed by session events.

``Transcript.handle_event`` is subscribed to the engine's bus (after the store writer) and runs
synchronously on the app's loop: deltas go straight into the open ``StreamingMarkdown`` buffer
(no Textual message per token), structural events mount widgets. It stays anchored to the
bottom while streaming until the user scrolls up, and mounts only the most recent messages of a
long session, loading earlier ones when the user scrolls to the top.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table as RichTable
from rich.text import Text
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from opencode.sessions.events import (
    ErrorOccurred,
    MessageFinished,
    MessageStarted,
    PartDelta,
    PartFinished,
    PartStarted,
    PermissionAsked,
    SessionEvent,
    ToolFinished,
    ToolStarted,
)
from opencode.tui.widgets.markdown_stream import StreamingMarkdown
from opencode.tui.widgets.tool_call import ToolCallView

PAGE = 24  # messages mounted per page of history (a few screens full)
FIRST_PAINT = 6  # of which mounted before the first frame
MAX_MOUNTED = 3 * PAGE  # messages kept mounted in a live session before the oldest are dropped


class UserMessage(Static):
    DEFAULT_CSS = """
    UserMessage {
        height: auto;
        margin: 1 0 0 0;
        padding: 0 1;
        border-left: outer $accent;
        background: $boost;
    }
    """

    def __init__(self, text: str, message_id: str | None = None) -> None:
        super().__init__(Text(text))
        self.text = text
        self.message_id = message_id


class ReasoningBlock(Collapsible):
    """The model's reasoning: dimmed, collapsed once it is done."""

    DEFAULT_CSS = """
    ReasoningBlock {
        height: auto;
        border: none;
        padding: 0;
        margin: 0;
        background: transparent;
    }
    ReasoningBlock Contents { padding: 0 0 0 2; }
    ReasoningBlock StreamingMarkdown { color: $text-muted; text-style: italic; }
    """

    def __init__(self, text: str = "", *, finished: bool = False) -> None:
        self.stream = StreamingMarkdown(text, finished=finished)
        super().__init__(
            self.stream, title="Thought" if finished else "Thinking", collapsed=finished
        )

    def append(self, text: str) -> None:
        self.stream.append(text)

    def finish(self) -> None:
        self.stream.finish()
        self.title = "Thought"


class ErrorNotice(Static):
    DEFAULT_CSS = """
    ErrorNotice {
        height: auto;
        color: $text-error;
        padding: 0 1;
        border-left: outer $error;
    }
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        text = Text()
        text.append("Error: ", style="bold")
        text.append(message)
        if hint:
            text.append("\nHint: ", style="bold")
            text.append(hint)
        super().__init__(text)
        self.message = message
        self.hint = hint


class CommandOutput(Static):
    """The result of a slash command: its text and its tables, as tables."""

    DEFAULT_CSS = """
    CommandOutput {
        height: auto;
        margin: 1 0 0 0;
        padding: 0 1;
        border-left: outer $secondary;
    }
    CommandOutput.-failed { border-left: outer $error; color: $text-error; }
    """

    def __init__(
        self,
        line: str,
        text: str | None = None,
        tables: list[Any] | None = None,
        *,
        failed: bool = False,
        running: bool = False,
    ) -> None:
        super().__init__("")
        self.line = line
        self.plain = text or ""
        self.tables = tables or []
        self.progress: list[str] = []
        self.running = running
        self.set_class(failed, "-failed")
        self.update(self._content())

    def add_progress(self, line: str) -> None:
        """A progress line from the running command, shown as it comes."""
        self.progress.append(line)
        self.update(self._content())

    def set_result(self, text: str | None, tables: list[Any], *, failed: bool) -> None:
        self.running = False
        self.plain = text or ""
        self.tables = tables
        self.set_class(failed, "-failed")
        self.update(self._content())

    def _content(self) -> RenderableType:
        from rich.console import Group

        head = Text(self.line, style="bold")
        if self.running:
            head.append("  running…", style="dim")
        parts: list[RenderableType] = [head]
        if self.running and self.progress:
            parts.append(Text("\n".join(self.progress[-20:]), style="dim"))
        for table in self.tables:
            rich_table = RichTable(title=table.title, expand=False, show_edge=False)
            for column in table.columns:
                rich_table.add_column(escape(str(column)))
            for row in table.rows:
                rich_table.add_row(*("-" if v is None else escape(str(v)) for v in row))
            parts.append(rich_table)
        if self.plain:
            parts.append(Text(self.plain))
        return Group(*parts)


class AssistantMessage(Vertical):
    DEFAULT_CSS = """
    AssistantMessage {
        height: auto;
        margin: 1 0 0 0;
        padding: 0 1;
    }
    AssistantMessage > .interrupted { color: $text-warning; height: 1; }
    """

    def __init__(
        self, message_id: str, model: str | None = None, children: list[Widget] | None = None
    ) -> None:
        super().__init__(*(children or []))
        self.message_id = message_id
        self.model = model

    def mark_interrupted(self) -> None:
        self.mount(Static("■ interrupted", classes="interrupted"))


class Transcript(VerticalScroll):
    """All messages of the current session; handles events for the current session only."""

    DEFAULT_CSS = """
    Transcript {
        height: 1fr;
        padding: 0 1;
        scrollbar-size-vertical: 1;
        /* A width that does not change when the scrollbar appears: no second render. */
        scrollbar-gutter: stable;
    }
    Transcript > .load-more { color: $text-muted; height: 1; text-align: center; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session_id: str | None = None
        self._messages: dict[str, AssistantMessage] = {}
        self._parts: dict[str, StreamingMarkdown | ReasoningBlock] = {}
        self._tools: dict[str, ToolCallView] = {}
        self._user_ids: set[str] = set()
        self._current: AssistantMessage | None = None
        self._oldest_id: str | None = None
        self._has_more = False
        self._loading = False
        self.load_earlier: Callable[[str, str], Awaitable[list[Any]]] | None = None

    def on_mount(self) -> None:
        self.anchor()

    # ---------------------------------------------------------------- live events

    def handle_event(self, event: SessionEvent) -> None:
        if getattr(event, "session_id", None) != self.session_id:
            return
        if isinstance(event, PartDelta):
            part = self._parts.get(event.part_id)
            if part is not None:
                part.append(event.text)
        elif isinstance(event, MessageStarted):
            if event.role == "user":
                self._user_ids.add(event.message_id)
            else:
                self._current = AssistantMessage(event.message_id, event.model)
                self._messages[event.message_id] = self._current
                self.mount(self._current)
        elif isinstance(event, PartStarted):
            self._part_started(event)
        elif isinstance(event, PartFinished):
            part = self._parts.pop(event.part_id, None)
            if part is not None:
                part.finish()
        elif isinstance(event, ToolStarted):
            view = ToolCallView(event.tool, event.arguments, call_id=event.call_id)
            self._tools[event.call_id] = view
            host = self._host(event.message_id)
            if host.children and isinstance(host.children[-1], StreamingMarkdown):
                view.add_class("-after-text")
            host.mount(view)
        elif isinstance(event, PermissionAsked):
            tool = self._tools.get(event.call_id)
            if tool is not None:
                tool.set_permission(event.decision, event.reason)
        elif isinstance(event, ToolFinished):
            tool = self._tools.pop(event.call_id, None)
            if tool is not None:
                tool.finish(event.status, event.output, event.duration_ms, event.metadata)
        elif isinstance(event, ErrorOccurred):
            notice = ErrorNotice(event.message, event.hint)
            if event.message_id and event.message_id in self._messages:
                self._messages[event.message_id].mount(notice)
            else:
                self.mount(notice)
        elif isinstance(event, MessageFinished):
            message = self._messages.get(event.message_id)
            if message is not None and event.finish == "interrupted":
                for part in list(self._parts.values()):
                    part.finish()
                self._parts.clear()
                for call_id, tool in list(self._tools.items()):
                    if tool.status == "running":
                        tool.finish("interrupted", tool.output, tool.duration_ms, tool.metadata)
                        del self._tools[call_id]
                message.mark_interrupted()

    def _host(self, message_id: str) -> Widget:
        return self._messages.get(message_id) or self._current or self

    def _part_started(self, event: PartStarted) -> None:
        if event.message_id in self._user_ids:
            self.mount(UserMessage(event.content, event.message_id))
            self.check_prune()
            return
        host = self._host(event.message_id)
        if event.kind == "text":
            stream = StreamingMarkdown(event.content)
            self._parts[event.part_id] = stream
            host.mount(stream)
        elif event.kind == "reasoning":
            block = ReasoningBlock(event.content)
            self._parts[event.part_id] = block
            host.mount(block)

    def check_prune(self) -> None:
        """Keep a long live session light: past ``MAX_MOUNTED`` messages, unmount the oldest
        page (it is in the store, and scrolling to the top loads it back)."""
        messages = [w for w in self.children if isinstance(w, UserMessage | AssistantMessage)]
        if len(messages) <= MAX_MOUNTED or (self.is_anchored and self._anchor_released):
            return
        keep = messages[PAGE]
        old: list[Widget] = []
        for child in self.children:
            if child is keep:
                break
            if not child.has_class("load-more"):
                old.append(child)
        if not old:
            return
        self._oldest_id = keep.message_id
        self._has_more = True
        self.remove_children(old)
        if not self.query(".load-more"):
            self.mount(Static("↑ scroll up for earlier messages", classes="load-more"), before=0)

    def open_stream(self, part_id: str) -> StreamingMarkdown | None:
        part = self._parts.get(part_id)
        return part if isinstance(part, StreamingMarkdown) else None

    # ---------------------------------------------------------------- history

    async def show_history(self, session_id: str, messages: list[Any], has_more: bool) -> None:
        """Replace the transcript with ``messages`` (the latest page of a session).

        The last few messages are mounted first so the screen paints quickly; the rest of the
        page is mounted above them right after the first frame.
        """
        await self.clear()
        self.session_id = session_id
        self._oldest_id = messages[0].id if messages else None
        self._has_more = has_more
        head, tail = messages[:-FIRST_PAINT], messages[-FIRST_PAINT:]
        widgets: list[Widget] = []
        if has_more:
            widgets.append(Static("↑ scroll up for earlier messages", classes="load-more"))
        if not head:
            for message in tail:
                widgets.extend(message_widgets(message))
            if widgets:
                await self.mount_all(widgets)
            self.anchor()
            return
        latest: list[Widget] = []
        for message in tail:
            latest.extend(message_widgets(message))
        await self.mount_all([*widgets, *latest])
        self.anchor()

        async def mount_head() -> None:
            if self.session_id != session_id or not latest[0].is_attached:
                return
            earlier: list[Widget] = []
            for message in head:
                earlier.extend(message_widgets(message))
            await self.mount_all(earlier, before=latest[0])

        self.call_after_refresh(
            lambda: self.run_worker(mount_head(), group="history", exclusive=True)
        )

    async def clear(self) -> None:
        self._messages.clear()
        self._parts.clear()
        self._tools.clear()
        self._user_ids.clear()
        self._current = None
        await self.remove_children()

    def add_output(self, widget: Widget) -> None:
        self.mount(widget)
        self.anchor()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value <= 0 and old_value > 0 and self._has_more and not self._loading:
            self.run_worker(self._load_earlier(), group="history", exclusive=True)

    async def _load_earlier(self) -> None:
        if self.load_earlier is None or self.session_id is None or self._oldest_id is None:
            return
        self._loading = True
        try:
            older = await self.load_earlier(self.session_id, self._oldest_id)
            self._has_more = len(older) >= PAGE
            if not older:
                return
            self._oldest_id = older[0].id
            marker = self.query(".load-more")
            widgets: list[Widget] = []
            for message in older:
                widgets.extend(message_widgets(message))
            first = self.children[1] if marker and len(self.children) > 1 else None
            before_height = self.virtual_size.height
            if first is not None:
                await self.mount_all(widgets, before=first)
            else:
                await self.mount_all(widgets, before=0)
            if not self._has_more:
                await marker.remove()

            def keep_position() -> None:
                self.scroll_to(y=self.virtual_size.height - before_height, animate=False)

            self.call_after_refresh(keep_position)
        finally:
            self._loading = False


def message_widgets(message: Any) -> list[Widget]:
    """Widgets for a stored ``MessageRecord``."""
    if message.role == "user":
        return [UserMessage(message.text(), message.id)]
    children: list[Widget] = []
    results = {p.tool_call_id: p for p in message.parts if p.kind == "tool_result"}
    for part in message.parts:
        if part.kind == "text" and part.content:
            children.append(StreamingMarkdown(part.content, finished=True))
        elif part.kind == "reasoning" and part.content:
            children.append(ReasoningBlock(part.content, finished=True))
        elif part.kind == "tool_call":
            try:
                args = json.loads(part.tool_args or "{}")
            except json.JSONDecodeError:
                args = {}
            result = results.get(part.tool_call_id)
            status = result.status if result is not None else part.status
            after_text = bool(children) and isinstance(children[-1], StreamingMarkdown)
            children.append(
                ToolCallView(
                    part.tool_name or "?",
                    args if isinstance(args, dict) else {},
                    call_id=part.tool_call_id or "",
                    status=status if status != "running" else "interrupted",
                    output=result.content if result is not None else "",
                    duration_ms=part.metadata.get("duration_ms"),
                    metadata=result.metadata if result is not None else {},
                )
            )
            children[-1].set_class(after_text, "-after-text")
        elif part.kind == "error":
            children.append(ErrorNotice(part.content, part.metadata.get("hint")))
    if message.interrupted:
        children.append(Static("■ interrupted", classes="interrupted"))
    return [AssistantMessage(message.id, message.model, children)]
