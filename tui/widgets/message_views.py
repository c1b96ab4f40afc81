"""The widgets a conversation is made of: a user message, an assistant message (a column of
markdown parts, reasoning, tool calls and errors), a reasoning block and an error notice.

They are built only by ``TranscriptBuilder`` from session events, live or replayed.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Collapsible, Static

from opencode.tui.safe_text import visible
from opencode.tui.widgets.markdown_stream import StreamingMarkdown


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
        super().__init__(Text(visible(text)))
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
        self.collapsed = True


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
        text.append(visible(message))
        if hint:
            text.append("\nHint: ", style="bold")
            text.append(visible(hint))
        super().__init__(text)
        self.message = message
        self.hint = hint


class AssistantMessage(Vertical):
    DEFAULT_CSS = """
    AssistantMessage {
        height: auto;
        margin: 1 0 0 0;
        padding: 0 1;
    }
    AssistantMessage > .interrupted { color: $text-warning; height: 1; }
    """

    def __init__(self, message_id: str, model: str | None = None) -> None:
        super().__init__()
        self.message_id = message_id
        self.model = model
        self.last_added: Widget | None = None
        self._initial: list[Widget] = []

    def compose(self) -> ComposeResult:
        yield from self._initial

    def add(self, child: Widget) -> None:
        """Append a child: mounted now if the message is on screen, else when it is composed
        (history is built off screen and mounted in one batch)."""
        if self.is_attached:
            self.mount(child)
        else:
            self._initial.append(child)
        self.last_added = child

    def mark_interrupted(self) -> None:
        self.add(Static("■ interrupted", classes="interrupted"))
