"""The todo panel: the session's checklist (``todowrite``), docked above the prompt.

A compact list, one row per item (☐ pending, ◐ in progress, ☑ completed, ☒ cancelled), shown
while the session has a list and the user has not hidden it; Ctrl+T (the chat screen's
binding) shows or hides it. It follows the ``TodosUpdated`` events of the screen's own session
and is loaded from the store when a session is opened. A long list keeps the rows around the
item in progress in view and counts the others.

A subagent (a child session run by ``task``) keeps its own list; while the parent's turn runs,
each child's list shows here as one line (its title, its count, the item in progress), so the
user sees the whole tree's progress in one place. The parent's turn ending clears them.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from opencode.sessions.todos import MARKS, Todo
from opencode.tui.widgets.terminal_text import plain_safe

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
        max-height: 16;  /* border, title, MAX_ROWS items, two '…' rows, a few subagents */
        padding: 0 1;
        border-top: solid $primary 40%;
        /* One row per item whatever it holds (500 characters, wide ones): Textual wraps a
           Static's text unless told not to; the Text's own no_wrap is not consulted. */
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    TodoPanel.-visible {
        display: block;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.todos: list[Todo] = []
        self.user_hidden = False  # Ctrl+T hid it: a new list does not bring it back
        # Subagents' lists during the parent's turn: child session id -> (title, list).
        self.subagents: dict[str, tuple[str, list[Todo]]] = {}
        self.titles: dict[str, str] = {}

    @property
    def shown(self) -> bool:
        return self.has_class("-visible")

    def show_todos(self, todos: list[Todo]) -> None:
        """The session's list changed (or another session was opened)."""
        self.todos = list(todos)
        self._refresh()

    def child_started(self, session_id: str, title: str) -> None:
        self.titles[session_id] = title

    def show_child(self, session_id: str, todos: list[Todo]) -> None:
        """A subagent's list changed."""
        title = self.titles.get(session_id, session_id)
        self.subagents[session_id] = (title, list(todos))
        self._refresh()

    def clear_children(self) -> None:
        if self.subagents or self.titles:
            self.subagents.clear()
            self.titles.clear()
            self._refresh()

    def _refresh(self) -> None:
        has_any = bool(self.todos) or any(todos for _, todos in self.subagents.values())
        self.set_class(has_any and not self.user_hidden, "-visible")
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
            if not any(child for _, child in self.subagents.values()):
                text.append("No todo list in this session yet.", style="dim")
                text.append("  ctrl+t hide", style="dim")
                return text
            text.append("Todos", style="bold")
            text.append("  ctrl+t hide", style="dim")
            self._append_children(text)
            text.no_wrap = True
            text.overflow = "ellipsis"
            return text
        done = sum(t.status == "completed" for t in todos)
        text.append("Todos", style="bold")
        text.append(f"  {done}/{len(todos)} done", style="dim")
        text.append("  ctrl+t hide", style="dim")
        start, end = _window(todos, self.rows())
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
        self._append_children(text)
        text.no_wrap = True
        text.overflow = "ellipsis"
        return text

    def rows(self) -> int:
        """Items shown at most: ``MAX_ROWS``, fewer in a short terminal, where the transcript
        and the prompt need the room (two items at 15 rows)."""
        height = self.app.size.height if self.is_attached else 30
        return max(1, min(MAX_ROWS, (height - 10) // 2))

    def on_resize(self) -> None:
        self.update(self.render_list())

    def _append_children(self, text: Text) -> None:
        for title, todos in self.subagents.values():
            if not todos:
                continue
            done = sum(t.status == "completed" for t in todos)
            text.append(f"\n↳ {plain_safe(title)}", style="bold")  # the model wrote it
            text.append(f"  {done}/{len(todos)} done", style="dim")
            current = next((t for t in todos if t.status == "in_progress"), None)
            if current is not None:
                text.append(f"  {MARKS['in_progress']} {current.content}", style="bold yellow")


def _window(todos: list[Todo], rows: int = MAX_ROWS) -> tuple[int, int]:
    """The rows to show: all of them when they fit, else ``rows`` from just before the
    first item not yet done (the one in progress, or the next to do)."""
    if len(todos) <= rows:
        return 0, len(todos)
    active = next(
        (i for i, t in enumerate(todos) if t.status == "in_progress"),
        next((i for i, t in enumerate(todos) if t.status == "pending"), len(todos) - 1),
    )
    start = max(0, min(active - 1, len(todos) - rows))
    return start, start + rows
