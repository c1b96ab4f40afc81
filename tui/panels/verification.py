"""The verification panel: runs per target, and each run's checks with their output."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from opencode.tui.panels.base import DataPanel, field_lines

MARK = {"passed": "✓", "failed": "✗", "skipped": "-", "error": "✗"}


class VerificationPanel(DataPanel):
    TITLE = "Verification"
    COMMAND = ("verify", "list")
    DOMAIN = "verification"
    COLUMNS = ["run", "target", "status", "pass/fail"]
    EMPTY = "No verification runs yet. Run one with `/sync verify TARGET` (or `/sync run`)."

    def row(self, item: dict[str, Any]) -> list[Any]:
        return [
            item.get("id"),
            item.get("target"),
            item.get("status"),
            f"{item.get('passed', 0)}/{item.get('failed', 0)}",
        ]

    def details(self, item: dict[str, Any]) -> RenderableType:
        head = Text(f"run {item.get('id')} on {item.get('target')}\n", style="bold")
        fields = field_lines(
            [
                ("status", item.get("status")),
                ("started", item.get("started_at")),
                ("finished", item.get("finished_at")),
                ("passed", item.get("passed")),
                ("failed", item.get("failed")),
            ]
        )
        checks = Table(show_edge=False, expand=True)
        for column in ("", "check", "category", "ms"):
            checks.add_column(column)
        outputs = Text()
        for check in item.get("checks") or []:
            if not isinstance(check, dict):
                continue
            status = str(check.get("status", ""))
            checks.add_row(
                MARK.get(status, "?"),
                str(check.get("name", "")),
                str(check.get("category", "")),
                str(check.get("duration_ms", "")),
            )
            if status != "passed" and check.get("output"):
                outputs.append(f"{check.get('name')}:\n", style="bold")
                outputs.append(str(check.get("output")).rstrip() + "\n")
        parts: list[RenderableType] = [head, fields, checks]
        if outputs:
            parts.append(outputs)
        return Group(*parts)
