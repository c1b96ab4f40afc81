"""The todo panel: the session's checklist (``todowrite``), docked above the prompt.

A compact list, one row per item (☐ pending, ◐ in progress, ☑ completed, ☒ cancelled), shown
while the session has a list and the user has not hidden it; Ctrl+T (the chat screen's
binding) shows or hides it. It follows the ``TodosUpdated`` events of the screen's own session
and is loaded from the store when a session is opened. A long list keeps the rows around the
item in progress in view and counts the others.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from opencode.sessions.todos import MARKS, Todo

MAX_ROWS = 8
_RICH_STYLES = {
    "pending": "",
    "in_progress": "bold yellow",
    "completed": "dim strike",
    "cancelled": "dim strike",
}


class TodoPanel(Static):
    DEFAULT_CSS = """
    TodoPanel {
        display: none;
        height: auto;
        max-height: 12;  /* border, title, MAX_ROWS items, two '…' rows */
        padding: 0 1;
        border-top: solid $primary 40%;
    }
    TodoPanel.-visible {
        display: block;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.todos: list[Todo] = []
        self.user_hidden = False  # Ctrl+T hid it: a new list does not bring it back

    @property
    def shown(self) -> bool:
        return self.has_class("-visible")

    def show_todos(self, todos: list[Todo]) -> None:
        """The session's list changed (or another session was opened)."""
        self.todos = list(todos)
        self.set_class(bool(self.todos) and not self.user_hidden, "-visible")
        self.update(self.render_list())

    def toggle(self) -> None:
        """Ctrl+T: hide it, or show it (also when empty: it says there is no list)."""
        self.user_hidden = self.shown
        self.set_class(not self.user_hidden, "-visible")
        self.update(self.render_list())

    def render_list(self) -> Text:
        todos = self.todos
        text = Text()
        if not todos:
            text.append("No todo list in this session yet.", style="dim")
            text.append("  ctrl+t hide", style="dim")
            return text
        done = sum(t.status == "completed" for t in todos)
        text.append("Todos", style="bold")
        text.append(f"  {done}/{len(todos)} done", style="dim")
        text.append("  ctrl+t hide", style="dim")
        start, end = _window(todos)
        if start:
            text.append(f"\n  … {start} earlier", style="dim")
        for todo in todos[start:end]:
            text.append("\n")
            text.append(f"{MARKS[todo.status]} ", style=_RICH_STYLES[todo.status] or "bold")
            text.append(todo.content, style=_RICH_STYLES[todo.status])
            if todo.priority == "high":
                text.append("  !", style="bold red")
        if end < len(todos):
            text.append(f"\n  … {len(todos) - end} more", style="dim")
        text.no_wrap = True
        text.overflow = "ellipsis"
        return text


def _window(todos: list[Todo]) -> tuple[int, int]:
    """The rows to show: all of them when they fit, else ``MAX_ROWS`` from just before the
    first item not yet done (the one in progress, or the next to do)."""
    if len(todos) <= MAX_ROWS:
        return 0, len(todos)
    active = next(
        (i for i, t in enumerate(todos) if t.status == "in_progress"),
        next((i for i, t in enumerate(todos) if t.status == "pending"), len(todos) - 1),
    )
    start = max(0, min(active - 1, len(todos) - MAX_ROWS))
    return start, start + MAX_ROWS
