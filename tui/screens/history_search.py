"""Ctrl+R: a reverse search over what was sent in this directory (``sessions/prompt_history``).

Newest first; typing filters (every word typed must appear, case-insensitive); Up/Down move;
Enter puts the highlighted message in the prompt for editing; Esc closes and leaves the prompt's
draft untouched. Messages of the current session still buffered in the store writer are flushed
first, and those sent this run (the prompt's own list) lead even before they are stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from opencode.sessions.prompt_history import PromptFilter
from opencode.tui.safe_text import visible

if TYPE_CHECKING:
    from opencode.tui.widgets.prompt import PromptArea

MAX_SHOWN = 200
_LABEL_CHARS = 160


def _label(text: str) -> str:
    one_line = " ⏎ ".join(line.strip() for line in text.splitlines() if line.strip())
    return one_line if len(one_line) <= _LABEL_CHARS else one_line[: _LABEL_CHARS - 1] + "…"


class _QueryInput(Input):
    """The query: the list is refiltered while the key that changed it is handled.

    Through ``Input.Changed`` the refilter would run only after the message bubbled up to the
    screen, and by then the key's echo has usually been drawn on its own: the new list then
    waits for the next frame (Textual draws at most 60 a second), ~17 ms more per keystroke.
    """

    def watch_value(self, value: str) -> None:
        screen = self.screen
        if isinstance(screen, HistorySearchScreen) and screen.is_mounted:
            screen.refilter(value)


class HistorySearchScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    HistorySearchScreen { align: center middle; background: $background 60%; }
    #history { width: 100; max-width: 95%; height: auto; max-height: 80%;
               border: thick $primary; background: $surface; padding: 0 1; }
    #history-title { text-style: bold; height: 1; }
    #history-query { margin: 1 0 0 0; }
    #history-options { height: auto; max-height: 20; border: none; }
    #history-help { color: $text-muted; height: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+r", "cursor_down", "Older", show=False),
    ]

    # How many matches one keystroke lists (the newest first; more words narrow it).
    limit: ClassVar[int] = MAX_SHOWN

    def __init__(self, entries: list[str]) -> None:
        super().__init__()
        self.entries = entries
        self.shown: list[int] = []
        self._filter = PromptFilter(entries, self.limit)
        # One Option per entry, built the first time it is shown and reused after: its label
        # is built once, and OptionList keeps the wrapped height on the label it measured.
        self._options: dict[int, Option] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="history"):
            yield Static("Search sent messages (newest first)", id="history-title")
            yield _QueryInput(placeholder="type to filter", id="history-query")
            # What was sent is shown as typed: ``[/x]`` in a message is not markup.
            yield OptionList(id="history-options", markup=False)
            yield Static("Enter: into the prompt · ↑↓ move · Esc cancel", id="history-help")

    @property
    def options(self) -> OptionList:
        return self.query_one("#history-options", OptionList)

    def on_mount(self) -> None:
        self.refilter("")
        self.query_one("#history-query", Input).focus()

    def refilter(self, query: str) -> None:
        shown = self._filter.matches(query)
        options = self.options
        if shown and shown == self.shown and options.option_count == len(shown):
            options.highlighted = 0  # the same matches: nothing to rebuild or measure again
            return
        self.shown = shown
        options.clear_options()
        if not shown:
            empty = "nothing sent here yet" if not self.entries else "no message matches"
            options.add_option(Option(empty, disabled=True))
            return
        options.add_options([self._option(i) for i in shown])
        options.highlighted = 0

    def _option(self, index: int) -> Option:
        option = self._options.get(index)
        if option is None:
            label = Content(visible(_label(self.entries[index])))
            option = self._options[index] = Option(label, id=str(index))
        return option

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.pick(self.options.highlighted)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.pick(event.option_index)

    def on_key(self, event: events.Key) -> None:
        # The query input keeps focus; Up/Down move in the list.
        if event.key in ("up", "down"):
            event.stop()
            event.prevent_default()
            if event.key == "up":
                self.options.action_cursor_up()
            else:
                self.options.action_cursor_down()

    def action_cursor_down(self) -> None:
        self.options.action_cursor_down()

    def pick(self, index: int | None) -> None:
        if index is None or not self.shown or index >= len(self.shown):
            return
        self.dismiss(self.entries[self.shown[index]])

    def action_cancel(self) -> None:
        self.dismiss(None)


async def open_history_search(prompt: PromptArea) -> None:
    """Load the history (this run's first, then the store's) and open the search."""
    from opencode.sessions.prompt_history import sent_prompts
    from opencode.tui.host import ChatHost

    entries = list(reversed(prompt.sent))
    app = prompt.app
    if isinstance(app, ChatHost) and app.engine.is_open:
        await app.engine.flush()
        stored = await sent_prompts(app.engine.store, app.engine.cwd)
        known = set(entries)
        entries.extend(text for text in stored if text not in known)

    def chosen(text: str | None) -> None:
        if text is None:
            return  # Esc: the draft stays as it was
        prompt.load_text(text)
        prompt.move_cursor(prompt.document.end)
        prompt.focus()

    app.push_screen(HistorySearchScreen(entries), chosen)
