"""The ``todowrite`` and ``todoread`` tools: the model's checklist for the session.

``todowrite`` replaces the session's whole list; the change is a ``TodosUpdated`` event on the
bus (the store keeps it, the TUI's todo panel and ``run --format json`` show it), never a
direct write. ``todoread`` reads the stored list back. Both touch nothing outside the session,
so the built-in permission default (allow) lets them run without asking.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.sessions.todos import (
    MAX_ITEMS,
    PRIORITIES,
    STATUSES,
    TodoError,
    parse_todos,
    render_todos,
)
from opencode.sessions.tools.base import PermissionSubject, ToolContext, ToolError, ToolResult

WRITE_DESCRIPTION = (
    "Keep a checklist of your work in this session; the user sees it while you work. Send the "
    "WHOLE list each time (it replaces the previous one). Use it when a task takes three or "
    "more distinct steps, when the user gives several things to do, or asks for a plan: write "
    "the steps first, mark one item in_progress before you start on it, and mark it completed "
    "as soon as it is done (not in a batch at the end). Keep one item in_progress at a time. "
    "Add items you discover along the way; mark ones that no longer apply cancelled. Skip the "
    "list for a single small step or a question that needs no work. Each item: `content` (a "
    "short imperative sentence), `status` (pending, in_progress, completed, cancelled), "
    "optional `priority` (high, medium, low) and optional `id`."
)
READ_DESCRIPTION = (
    "Read this session's checklist as last written with todowrite (status and content of each "
    "item). Use it when resuming work or when unsure what is left; it takes no arguments."
)


class TodoWriteTool:
    name = "todowrite"
    description = WRITE_DESCRIPTION
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "todos": {
                "type": "array",
                "description": f"The whole updated list (at most {MAX_ITEMS} items)",
                "items": {
                    "type": "object",
                    "properties": {
                        "content": {"type": "string", "description": "What to do, briefly"},
                        "status": {"type": "string", "enum": list(STATUSES)},
                        "priority": {"type": "string", "enum": list(PRIORITIES)},
                        "id": {"type": "string", "description": "Optional stable id"},
                    },
                    "required": ["content", "status"],
                },
            }
        },
        "required": ["todos"],
    }

    def permission_subject(self, args: dict[str, Any], cwd: Path) -> PermissionSubject:
        return PermissionSubject("todo list")

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        from opencode.sessions.events import TodosUpdated

        try:
            todos, warnings = parse_todos(args.get("todos"))
        except TodoError as exc:
            raise ToolError(f"todowrite: {exc}") from None
        if ctx.emit is None:
            raise ToolError("todowrite: this run has no session to keep a todo list in")
        await ctx.emit(TodosUpdated(ctx.session_id, ctx.call_id, todos))
        text = render_todos(todos)
        if warnings:
            text += "\n\nNote: " + "\n".join(warnings)
        return ToolResult(
            text,
            metadata={"todos": [t.to_json() for t in todos], "warnings": warnings},
        )


class TodoReadTool:
    name = "todoread"
    description = READ_DESCRIPTION
    parameters: dict[str, Any] = {"type": "object", "properties": {}}

    def permission_subject(self, args: dict[str, Any], cwd: Path) -> PermissionSubject:
        return PermissionSubject("todo list")

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        from opencode.sessions.store.todos import load_todos

        if ctx.store is None:
            raise ToolError("todoread: this run has no session store to read a todo list from")
        todos = await load_todos(ctx.store, ctx.session_id)
        return ToolResult(render_todos(todos), metadata={"todos": [t.to_json() for t in todos]})
