"""A session's todo list: the item type, and checking a list the model sent.

The model keeps a checklist of its work (``todowrite`` / ``todoread``, see
``sessions/tools/todo.py``); the user sees it in the TUI's todo panel and in
``run --format json``. A write replaces the whole list. ``parse_todos`` turns the model's JSON
into items or raises ``TodoError`` naming every problem by position, so the model can fix them
in one retry; what is odd but harmless (two items in progress) is returned as a warning, and
the list is still kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

TodoStatus = Literal["pending", "in_progress", "completed", "cancelled"]
TodoPriority = Literal["high", "medium", "low"]
STATUSES: tuple[TodoStatus, ...] = ("pending", "in_progress", "completed", "cancelled")
PRIORITIES: tuple[TodoPriority, ...] = ("high", "medium", "low")
MAX_ITEMS = 100
MAX_CONTENT_CHARS = 500
# One character per status, for the panel, the tool call's summary and plain text.
MARKS: dict[str, str] = {
    "pending": "☐",
    "in_progress": "◐",
    "completed": "☑",
    "cancelled": "☒",
}


@dataclass(frozen=True, slots=True)
class Todo:
    content: str
    status: TodoStatus = "pending"
    priority: TodoPriority | None = None
    id: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "content": self.content, "status": self.status}
        if self.priority is not None:
            data["priority"] = self.priority
        return data


class TodoError(ValueError):
    """The list cannot be kept as sent; the message lists what to fix, by position."""


def parse_todos(raw: Any) -> tuple[list[Todo], list[str]]:
    """The model's ``todos`` argument -> (items, warnings). Raises ``TodoError`` naming every
    invalid item; nothing is kept then (the previous list stands)."""
    if not isinstance(raw, list):
        raise TodoError(
            f"'todos' must be an array of items, got {type(raw).__name__}; send the whole "
            'list, e.g. [{"content": "Run the tests", "status": "pending"}]'
        )
    if len(raw) > MAX_ITEMS:
        raise TodoError(
            f"'todos' has {len(raw)} items, at most {MAX_ITEMS} are kept; merge small steps "
            "or drop completed ones"
        )
    problems: list[str] = []
    todos: list[Todo] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        where = f"todos[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where} must be an object with 'content' and 'status'")
            continue
        content = item.get("content")
        if not isinstance(content, str) or not content.strip():
            problems.append(f"{where}.content must be a non-empty string")
            continue
        # One line of printable text: the panel shows one row per item, and a control
        # character (an escape sequence) must not reach the terminal.
        content = " ".join("".join(c for c in content if c.isprintable() or c.isspace()).split())
        if not content:
            problems.append(f"{where}.content must be a non-empty string")
            continue
        if len(content) > MAX_CONTENT_CHARS:
            problems.append(
                f"{where}.content has {len(content)} characters, at most {MAX_CONTENT_CHARS}; "
                "shorten it"
            )
            continue
        status = item.get("status", "pending")
        if status not in STATUSES:
            problems.append(f"{where}.status must be one of {', '.join(STATUSES)}; got {status!r}")
            continue
        priority = item.get("priority")
        if priority is not None and priority not in PRIORITIES:
            problems.append(
                f"{where}.priority must be one of {', '.join(PRIORITIES)} (or left out); "
                f"got {priority!r}"
            )
            continue
        raw_id = item.get("id")
        todo_id = str(raw_id) if isinstance(raw_id, str | int) and str(raw_id) else str(index + 1)
        if todo_id in seen:
            problems.append(f"{where}.id {todo_id!r} repeats todos[{seen[todo_id]}].id")
            continue
        seen[todo_id] = index
        todos.append(
            Todo(
                content,
                cast(TodoStatus, status),
                cast(TodoPriority | None, priority),
                todo_id,
            )
        )
    if problems:
        raise TodoError(
            "the todo list was not changed: "
            + "; ".join(problems)
            + ". Send the whole list again with these fixed."
        )
    warnings: list[str] = []
    running = [i for i, t in enumerate(todos) if t.status == "in_progress"]
    if len(running) > 1:
        warnings.append(
            f"{len(running)} items are in_progress ("
            + ", ".join(f"todos[{i}]" for i in running)
            + "); keep one in_progress at a time: finish it, or set the others back to pending"
        )
    return todos, warnings


def render_todos(todos: list[Todo]) -> str:
    """The list as plain text for the model and headless readers: one ``mark content`` line
    per item, and a count line."""
    if not todos:
        return "The todo list is empty."
    lines = [f"{MARKS[t.status]} {t.content}" + _priority(t) for t in todos]
    lines.append(summary(todos))
    return "\n".join(lines)


def summary(todos: list[Todo]) -> str:
    """``3 todos: 1 done, 1 in progress, 1 pending`` (cancelled ones named when present)."""
    if not todos:
        return "no todos"
    counts = {status: 0 for status in STATUSES}
    for todo in todos:
        counts[todo.status] += 1
    words = [
        f"{counts['completed']} done",
        f"{counts['in_progress']} in progress",
        f"{counts['pending']} pending",
    ]
    if counts["cancelled"]:
        words.append(f"{counts['cancelled']} cancelled")
    noun = "todo" if len(todos) == 1 else "todos"
    return f"{len(todos)} {noun}: " + ", ".join(words)


def todos_from_json(raw: Any) -> list[Todo]:
    """Items from stored JSON (checked when written); a list that no longer parses reads as
    empty rather than failing the reader."""
    if not isinstance(raw, list):
        return []
    try:
        return parse_todos(raw)[0]
    except TodoError:
        return []


def _priority(todo: Todo) -> str:
    return f" ({todo.priority})" if todo.priority and todo.priority != "medium" else ""
