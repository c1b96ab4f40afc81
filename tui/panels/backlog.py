"""The backlog panel: items by priority, with criteria, blockers and evidence in the details."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from opencode.tui.panels.base import DataPanel, field_lines


class BacklogPanel(DataPanel):
    TITLE = "Backlog"
    COMMAND = ("backlog", "list")
    DOMAIN = "backlog"
    COLUMNS = ["key", "title", "prio", "status"]
    EMPTY = "No backlog items yet. Add one with `/backlog add TITLE` (then F2 shows it here)."

    def row(self, item: dict[str, Any]) -> list[Any]:
        return [
            item.get("key") or item.get("id"),
            item.get("title"),
            item.get("priority"),
            item.get("status"),
        ]

    def details(self, item: dict[str, Any]) -> RenderableType:
        head = Text(f"{item.get('key') or item.get('id')}  {item.get('title', '')}\n", style="bold")
        fields = field_lines(
            [
                ("summary", item.get("one_liner")),
                ("priority", item.get("priority")),
                ("effort", item.get("effort")),
                ("risk", item.get("risk")),
                ("status", item.get("status")),
                ("blockers", item.get("blockers")),
                ("files", item.get("files")),
                ("evidence", item.get("evidence")),
                ("notes", item.get("notes")),
            ]
        )
        criteria = Text()
        for criterion in item.get("criteria") or []:
            if isinstance(criterion, dict):
                mark = "☑" if criterion.get("done") else "☐"
                criteria.append(f"{mark} {criterion.get('text', '')}\n")
        parts: list[RenderableType] = [head, fields]
        if criteria:
            parts.extend([Text("criteria", style="bold"), criteria])
        return Group(*parts)
