"""The multi-line prompt with history and slash-command autocomplete.

Enter sends; Shift+Enter or Ctrl+J inserts a newline (many terminals cannot tell Shift+Enter
from Enter, Ctrl+J always arrives). Up on the first line walks back through what was sent
(Down walks forward). Typing ``/`` opens a list of every command with its help; Up/Down move
in it, Tab completes the highlighted one. Messages queued while a turn runs sit above the
prompt (``QueuedPrompts``); Up in an empty prompt takes the last one back to edit.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, TextArea
from textual.widgets.option_list import Option

from opencode.tui.commands import suggestions
from opencode.tui.messages import PromptSubmitted
from opencode.tui.widgets.queued import QueuedPrompts

MAX_SUGGESTIONS = 8


class SlashSuggestions(OptionList, can_focus=False):
    DEFAULT_CSS = """
    SlashSuggestions {
        display: none;
        height: auto;
        max-height: 10;
        border: none;
        padding: 0 1;
        background: $boost;
    }
    SlashSuggestions.-visible { display: block; }
    """


class PromptArea(TextArea):
    DEFAULT_CSS = """
    PromptArea {
        height: auto;
        min-height: 3;
        max-height: 12;
        border: tall $primary 40%;
    }
    PromptArea:focus { border: tall $primary; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            id=id,
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            placeholder="Ask anything · / for commands · Shift+Enter or Ctrl+J for a new line",
        )
        self.sent: list[str] = []
        self._history_pos: int | None = None
        self._draft = ""
        self.entries: list[tuple[str, str]] = []

    @property
    def suggestions(self) -> SlashSuggestions | None:
        parent = self.parent
        if parent is None:
            return None
        found = parent.query(SlashSuggestions)
        return found.first() if found else None

    @property
    def queued(self) -> QueuedPrompts | None:
        parent = self.parent
        if parent is None:
            return None
        found = parent.query(QueuedPrompts)
        return found.first() if found else None

    def _suggesting(self) -> bool:
        box = self.suggestions
        return box is not None and box.has_class("-visible") and box.option_count > 0

    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        if key == "enter":
            event.stop()
            event.prevent_default()
            self.submit()
        elif key in ("shift+enter", "ctrl+j"):
            event.stop()
            event.prevent_default()
            start, end = self.selection
            self._replace_via_keyboard("\n", start, end)
        elif key == "tab" and self._suggesting():
            event.stop()
            event.prevent_default()
            self.complete()
        elif key == "escape" and self._suggesting():
            event.stop()
            event.prevent_default()
            self.hide_suggestions()

    def submit(self) -> None:
        text = self.text.strip()
        if not text:
            return
        if not self.sent or self.sent[-1] != text:
            self.sent.append(text)
        self._history_pos = None
        self.clear()
        self.hide_suggestions()
        self.post_message(PromptSubmitted(text))

    def complete(self) -> None:
        box = self.suggestions
        if box is None or box.option_count == 0:
            return
        index = box.highlighted if box.highlighted is not None else 0
        option = box.get_option_at_index(index)
        self.load_text(f"{option.id} ")
        self.move_cursor(self.document.end)
        self.hide_suggestions()

    def action_cursor_up(self, select: bool = False) -> None:
        if self._suggesting():
            box = self.suggestions
            assert box is not None
            box.action_cursor_up()
            return
        queued = self.queued
        if not self.text and queued is not None and len(queued) and not select:
            # Edit (or cancel, by deleting it) the last message queued behind the turn.
            self.load_text(queued.pop_last() or "")
            self.move_cursor(self.document.end)
            return
        if self.cursor_location[0] == 0 and self.sent and not select:
            if self._history_pos is None:
                self._draft = self.text
                self._history_pos = len(self.sent)
            if self._history_pos > 0:
                self._history_pos -= 1
                self._show_history()
            return
        super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        if self._suggesting():
            box = self.suggestions
            assert box is not None
            box.action_cursor_down()
            return
        last_row = self.document.line_count - 1
        if self._history_pos is not None and self.cursor_location[0] == last_row and not select:
            self._history_pos += 1
            if self._history_pos >= len(self.sent):
                self._history_pos = None
                self.load_text(self._draft)
            else:
                self._show_history()
            self.move_cursor(self.document.end)
            return
        super().action_cursor_down(select)

    def _show_history(self) -> None:
        assert self._history_pos is not None
        self.load_text(self.sent[self._history_pos])
        self.move_cursor(self.document.end)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.update_suggestions()

    def update_suggestions(self) -> None:
        box = self.suggestions
        if box is None:
            return
        text = self.text
        if not text.startswith("/") or "\n" in text:
            self.hide_suggestions()
            return
        matches = suggestions(self.entries, text)  # a group's subcommands once it is typed
        if text.endswith(" ") and not matches:
            self.hide_suggestions()
            return
        box.clear_options()
        width = max((len(name) for name, _ in matches), default=0)
        box.add_options([Option(f"{name:<{width}}  {text}", id=name) for name, text in matches])
        if matches:
            box.highlighted = 0
        box.set_class(bool(matches), "-visible")

    def hide_suggestions(self) -> None:
        box = self.suggestions
        if box is not None:
            box.remove_class("-visible")


class PromptBar(Vertical):
    DEFAULT_CSS = """
    PromptBar { height: auto; dock: bottom; }
    """

    def compose(self) -> ComposeResult:
        yield QueuedPrompts(id="queued")
        yield SlashSuggestions(id="slash-suggestions")
        yield PromptArea(id="prompt")
