"""The multi-line prompt with history and slash-command and ``@file`` autocomplete.

Enter sends; Shift+Enter or Ctrl+J inserts a newline (many terminals cannot tell Shift+Enter
from Enter, Ctrl+J always arrives). Up on the first line walks back through what was sent
(Down walks forward). Typing ``/`` opens a list of every command with its help; Up/Down move
in it, Tab completes the highlighted one. Typing ``@`` opens a list of project files
(``widgets/mentions.py``); Tab or Enter completes, Esc closes it. A line starting with ``!`` is
a shell command (``sessions/shell_mode.py``). Ctrl+R searches what was sent before
(``screens/history_search.py``); Ctrl+G edits the prompt in ``$VISUAL``/``$EDITOR``.
Messages queued while a turn runs sit above the prompt (``QueuedPrompts``); Up in an empty
prompt takes the last one back to edit.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, TypeVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import OptionList, TextArea
from textual.widgets.option_list import Option

from opencode.tui.commands import suggestions
from opencode.tui.messages import PromptSubmitted
from opencode.tui.safe_text import one_line
from opencode.tui.widgets.mentions import (
    FileCompleter,
    MentionSuggestions,
    SuggestionBox,
    Typing,
    completion_text,
    mention_at,
)
from opencode.tui.widgets.queued import QueuedPrompts

MAX_SUGGESTIONS = 8
W = TypeVar("W", bound=Widget)


class SlashSuggestions(SuggestionBox):
    """The ``/`` list: commands matching what is typed, with their help. Help text may come
    from an MCP server or a custom command: shown as written (``SuggestionBox`` reads no
    markup: ``[/x]`` raised MarkupError; ``[@click=...]`` ran an action)."""


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

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "history_search", "History search", show=False),
        Binding("ctrl+g", "external_editor", "Edit in $EDITOR", show=False),
    ]

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
        self.files: FileCompleter | None = None  # made on the first ``@``
        self._mention: Typing | None = None  # the mention the open list completes
        self._dismissed: tuple[int, int] | None = None  # (row, column) of an Esc-closed one
        # The prompt's leading ``!`` came from a paste (a markdown image, a note, a Jupyter
        # cell): it runs as a shell command only after a second, deliberate Enter.
        self._bang_pasted = False

    def _beside(self, kind: type[W]) -> W | None:
        """The first ``kind`` widget under the prompt's parent (None before mounting)."""
        parent = self.parent
        if parent is None:
            return None
        found = parent.query(kind)
        return found.first() if found else None

    @property
    def suggestions(self) -> SlashSuggestions | None:
        return self._beside(SlashSuggestions)

    @property
    def queued(self) -> QueuedPrompts | None:
        return self._beside(QueuedPrompts)

    @property
    def mention_box(self) -> MentionSuggestions | None:
        return self._beside(MentionSuggestions)

    def _suggesting(self) -> bool:
        return self._open_box() is not None

    def _open_box(self) -> OptionList | None:
        for box in (self.mention_box, self.suggestions):
            if box is not None and box.has_class("-visible") and box.option_count > 0:
                return box
        return None

    def _completing_mention(self) -> bool:
        """A path is highlighted in the open ``@`` list (not "listing files…")."""
        box = self.mention_box
        if self._mention is None or box is None or self._open_box() is not box:
            return False
        return box.get_option_at_index(box.highlighted or 0).id is not None

    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        if key in ("enter", "tab") and self._completing_mention():
            event.stop()
            event.prevent_default()
            if key == "enter" and self._mention_complete():
                self.submit()  # the path is typed out already: Enter sends
            else:
                self.complete_mention()
        elif key == "enter":
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
            if self._mention is not None:
                self._dismissed = (self.cursor_location[0], self._mention.column)
            self.hide_suggestions()

    def on_paste(self, event: events.Paste) -> None:
        # Runs before TextArea's own ``_on_paste`` inserts the text (Textual dispatches the
        # subclass's handlers first), so the selection is still where the paste goes.
        before = self.get_text_range((0, 0), min(self.selection))
        if not before.strip() and event.text.lstrip().startswith("!"):
            self._bang_pasted = True

    def load_text(self, text: str) -> None:
        self._bang_pasted = False  # recalled or edited by the user: theirs to run
        super().load_text(text)

    def submit(self) -> None:
        text = self.text.strip()
        if not text:
            return
        if self._bang_pasted and text.startswith("!"):
            self._bang_pasted = False
            lines = text.count("\n") + 1
            self.notify(
                f"The pasted text starts with ! and would run as a shell command ({lines} "
                f"line{'s' if lines > 1 else ''}). Press Enter again to run it; to send it to "
                "the model instead, put a word before the !.",
                title="Shell command?",
                severity="warning",
                timeout=10,
            )
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

    def _mention_complete(self) -> bool:
        box, typing = self.mention_box, self._mention
        if box is None or typing is None or not box.option_count:
            return False
        return box.get_option_at_index(box.highlighted or 0).id == typing.query

    def complete_mention(self) -> None:
        box = self.mention_box
        typing = self._mention
        if box is None or typing is None or box.option_count == 0:
            return
        option = box.get_option_at_index(box.highlighted or 0)
        if option.id is None:  # "listing files…": nothing to complete yet
            return
        row, column = self.cursor_location
        self.replace(completion_text(option.id), (row, typing.column), (row, column))
        if not option.id.endswith("/"):
            self.hide_suggestions()

    def action_cursor_up(self, select: bool = False) -> None:
        box = self._open_box()
        if box is not None:
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
        box = self._open_box()
        if box is not None:
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
        if self._bang_pasted and not self.text.lstrip().startswith("!"):
            self._bang_pasted = False
        self.update_suggestions()
        self.update_mentions()

    # ------------------------------------------------------------------ @ mentions

    def update_mentions(self) -> None:
        box = self.mention_box
        if box is None:
            return
        row, column = self.cursor_location
        typing = mention_at(self.document.get_line(row)[:column])
        if typing is None or self._dismissed == (row, typing.column):
            if typing is None:
                self._dismissed = None  # that mention is gone: a new ``@`` opens the list
            self._mention = None
            box.remove_class("-visible")
            return
        self._dismissed = None
        self._mention = typing
        files = self.files
        if files is None:
            from opencode.tui.host import ChatHost

            app = self.app
            files = self.files = FileCompleter(app.cwd if isinstance(app, ChatHost) else Path())
        if files.needs_load():
            # A worker: listing a big repository must never hold up the keys.
            self.run_worker(self._load_files(files), group="file-index", exit_on_error=False)
        found = files.rank(typing.query)
        box.clear_options()
        if found is None:
            box.add_option(Option("listing files…", id=None, disabled=True))
        else:
            box.add_options([Option(Content(one_line(path)), id=path) for path in found])
            if files.error:
                box.add_option(Option(Content(one_line(files.error)), id=None, disabled=True))
        if found:
            box.highlighted = 0
        box.set_class(box.option_count > 0, "-visible")

    async def _load_files(self, files: FileCompleter) -> None:
        await files.load()
        if self._mention is not None:
            self.update_mentions()  # the list typed against while it loaded

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
        # Content, not markup: a custom command or an MCP prompt writes its own description.
        box.add_options(
            [
                Option(Content(one_line(f"{name:<{width}}  {text}")), id=name)
                for name, text in matches
            ]
        )
        if matches:
            box.highlighted = 0
        box.set_class(bool(matches), "-visible")

    def hide_suggestions(self) -> None:
        for box in (self.suggestions, self.mention_box):
            if box is not None:
                box.remove_class("-visible")
        self._mention = None

    # ------------------------------------------------------------------ Ctrl+R, Ctrl+G

    def action_history_search(self) -> None:
        """Ctrl+R: search what was sent here (this session and earlier ones), newest first;
        the pick replaces the prompt's text for editing, Esc leaves the draft as it was."""
        from opencode.tui.screens.history_search import open_history_search

        self.run_worker(open_history_search(self), group="history-search", exit_on_error=False)

    def action_external_editor(self) -> None:
        """Ctrl+G: edit the prompt's text in ``$VISUAL``/``$EDITOR`` (``vi`` when unset)."""
        from opencode.tui.widgets.external_editor import edit_in_editor

        edit_in_editor(self)


class PromptBar(Vertical):
    DEFAULT_CSS = """
    PromptBar { height: auto; dock: bottom; }
    """

    def compose(self) -> ComposeResult:
        yield QueuedPrompts(id="queued")
        yield SlashSuggestions(id="slash-suggestions")
        yield MentionSuggestions(id="mention-suggestions")
        yield PromptArea(id="prompt")
