"""The ``list`` tool: a directory as a tree two levels deep, walked and filtered like every
search tool (``opencode.sessions.tools.walk``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.sessions.globs import IgnoreRules
from opencode.sessions.tools.base import PermissionSubject, ToolContext, ToolResult
from opencode.sessions.tools.paths import display_path, run_blocking
from opencode.sessions.tools.walk import Tree, base_dir, dir_subject

MAX_LIST_LINES = 400
MAX_LIST_PER_DIR = 100


class ListTool:
    name = "list"
    description = (
        "List a directory as a tree two levels deep (directories end with `/`). Skips .git, "
        "node_modules, .venv, __pycache__ and .gitignore'd entries. Use it to get oriented; "
        "use `glob` to find files by name deeper down."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "path": {
                "type": "string",
                "description": "Directory to list (default: the working directory).",
            },
        },
        "required": [],
    }

    def permission_subject(self, args: dict[str, Any], cwd: Path) -> PermissionSubject:
        return dir_subject(args, cwd)

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        base = base_dir(args, ctx.cwd)
        return await run_blocking(lambda: _list(base, ctx.cwd), f"list {base}")


def _list(base: Path, cwd: Path) -> ToolResult:
    tree = Tree(base, cwd)
    shown = display_path(base, cwd)
    lines = [shown.rstrip("/") + "/"]
    cut = False
    entries = 0

    def add_level(directory: Path, rules: IgnoreRules, depth: int) -> None:
        nonlocal cut, entries
        dirs, files = tree.entries(directory, rules)
        items = [*dirs, *files]
        for index, entry in enumerate(items):
            if len(lines) >= MAX_LIST_LINES:
                cut = True
                return
            if index >= MAX_LIST_PER_DIR:
                lines.append("  " * depth + f"… and {len(items) - index} more")
                return
            lines.append("  " * depth + entry.name + ("/" if entry.is_dir else ""))
            entries += 1
            if entry.is_dir and depth == 1:
                add_level(entry.path, tree.rules_for(entry.path, rules), depth + 1)

    add_level(base, tree.base_rules, 1)
    if len(lines) == 1:
        lines.append("  (empty)")
    if cut:
        lines.append(f"(listing cut at {MAX_LIST_LINES} lines; list a subdirectory for more)")
    return ToolResult("\n".join(lines), metadata={"entries": entries, "truncated": cut})
