"""Session events -> transcript widgets: the one path for a live turn and for stored history.

``TranscriptBuilder.apply`` takes one event and either changes a widget it built before (a
delta into an open markdown part, a tool call finishing) or returns a new top-level widget for
the caller to mount. The live transcript feeds it the bus's events and mounts as it goes;
history feeds it ``replay(records)`` and mounts the widgets in one batch, its subagents' events
going through a ``SubagentRouter`` as they do live.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.widget import Widget

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
from opencode.tui.widgets.message_views import (
    AssistantMessage,
    ErrorNotice,
    ReasoningBlock,
    UserMessage,
)
from opencode.tui.widgets.subagent import SubagentRouter
from opencode.tui.widgets.tool_call import ToolCallView


class TranscriptBuilder:
    """Builds the widgets of one run of events (a live session, or one page of history)."""

    def __init__(self) -> None:
        self.messages: dict[str, AssistantMessage] = {}
        self.parts: dict[str, StreamingMarkdown | ReasoningBlock] = {}
        self.tools: dict[str, ToolCallView] = {}
        self._user_ids: set[str] = set()
        self._user_calls: dict[str, list[str]] = {}  # a user message's own tool calls
        self._current: AssistantMessage | None = None

    def apply(self, event: SessionEvent) -> Widget | None:
        """Apply ``event``; return a new top-level widget to mount after the others, if any."""
        if isinstance(event, PartDelta):  # the hot path: first
            part = self.parts.get(event.part_id)
            if part is not None:
                part.append(event.text)
            return None
        if isinstance(event, MessageStarted):
            if event.role == "user":
                self._user_ids.add(event.message_id)
                return None
            self._current = AssistantMessage(event.message_id, event.model)
            self.messages[event.message_id] = self._current
            return self._current
        if isinstance(event, PartStarted):
            return self._part_started(event)
        if isinstance(event, PartFinished):
            finished = self.parts.pop(event.part_id, None)
            if finished is not None:
                finished.finish()
            return None
        if isinstance(event, ToolStarted):
            view = ToolCallView(event.tool, event.arguments, call_id=event.call_id)
            self.tools[event.call_id] = view
            # A user message's own calls (``@path`` reads, a ``!`` command) stand alone.
            user = event.message_id in self._user_ids
            if user:
                self._user_calls.setdefault(event.message_id, []).append(event.call_id)
            host = None if user else self._host(event.message_id)
            if host is None:
                return view
            view.set_class(isinstance(host.last_added, StreamingMarkdown), "-after-text")
            host.add(view)
            return None
        if isinstance(event, PermissionAsked):
            tool = self.tools.get(event.call_id)
            if tool is not None:
                tool.set_permission(event.decision, event.reason)
            return None
        if isinstance(event, ToolFinished):
            tool = self.tools.pop(event.call_id, None)
            if tool is not None:
                tool.finish(event.status, event.output, event.duration_ms, event.metadata)
            return None
        if isinstance(event, ErrorOccurred):
            notice = ErrorNotice(event.message, event.hint)
            message = self.messages.get(event.message_id) if event.message_id else None
            if message is None:
                return notice
            message.add(notice)
            return None
        if isinstance(event, MessageFinished):
            self._message_finished(event)
        return None

    def build(
        self,
        events: Iterable[SessionEvent],
        router: SubagentRouter | None = None,
        root: str | None = None,
    ) -> list[Widget]:
        """Apply every event; return the top-level widgets in order (none of them mounted).
        With a ``router``, the events of subagents of session ``root`` go to their views."""
        widgets: list[Widget] = []
        for event in events:
            if router is not None and router.route(event, root, self.tools):
                continue
            widget = self.apply(event)
            if widget is not None:
                widgets.append(widget)
        return widgets

    def open_stream(self, part_id: str) -> StreamingMarkdown | None:
        part = self.parts.get(part_id)
        return part if isinstance(part, StreamingMarkdown) else None

    def _host(self, message_id: str) -> AssistantMessage | None:
        return self.messages.get(message_id) or self._current

    def _part_started(self, event: PartStarted) -> Widget | None:
        if event.message_id in self._user_ids:
            return UserMessage(event.content, event.message_id)
        part: StreamingMarkdown | ReasoningBlock
        if event.kind == "text":
            part = StreamingMarkdown(event.content)
        elif event.kind == "reasoning":
            part = ReasoningBlock(event.content)
        else:
            return None
        self.parts[event.part_id] = part
        host = self._host(event.message_id)
        if host is None:
            return part
        host.add(part)
        return None

    def _message_finished(self, event: MessageFinished) -> None:
        """A finished message has nothing left open: a part or tool call still open here was
        cut off (cancelled, or the process died: stored with no finish)."""
        # A finished message gets no more events: let it go with its widgets once the
        # transcript unmounts it (a live session would otherwise keep every reply).
        message = self.messages.pop(event.message_id, None)
        self._user_ids.discard(event.message_id)
        for call_id in self._user_calls.pop(event.message_id, ()):
            # Only this message's own calls: a ``!`` command cut off by Esc (a subagent's
            # user message finishing must not touch the parent's running ``task`` call).
            self._close_tools([call_id])
        if message is None:
            return
        for part in self.parts.values():
            part.finish()
        self.parts.clear()
        self._close_tools(list(self.tools))
        if event.finish == "interrupted":
            message.mark_interrupted()

    def _close_tools(self, call_ids: list[str]) -> None:
        for call_id in call_ids:
            tool = self.tools.pop(call_id, None)
            if tool is not None and tool.status == "running":
                tool.finish("interrupted", tool.output, tool.duration_ms, tool.metadata)
