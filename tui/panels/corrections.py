"""The corrections panel (read-only): correction rules with their hit counts, and for the
selected rule its recent log (what it changed, where and when). Data comes from ``patch list``
and ``patch show ID`` through the registry, as ``--format json`` prints them."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from opencode.commands.registry import CommandContext, CommandResult
from opencode.tui.panels.base import DataPanel, field_lines


class CorrectionsPanel(DataPanel):
    TITLE = "Corrections"
    COMMAND = ("patch", "list")
    DOMAIN = "corrections"
    COLUMNS = ["id", "on", "mode", "scope", "pattern", "hits"]
    EMPTY = 'No correction rules. Add one with `/patch add "teh" "the"`.'

    async def fetch(self, ctx: CommandContext) -> CommandResult:
        result = await self.run_words(ctx, self.COMMAND)
        if result.exit_code != 0 or not isinstance(result.data, list):
            return result
        rules: list[dict[str, Any]] = []
        for rule in result.data:
            detail = await self.run_words(ctx, ("patch", "show", str(rule.get("id"))))
            rules.append({**rule, **detail.data} if isinstance(detail.data, dict) else rule)
        return CommandResult(data=rules)

    def row(self, item: dict[str, Any]) -> list[Any]:
        pattern = str(item.get("pattern", ""))
        shown = pattern if len(pattern) <= 24 else pattern[:23] + "…"
        return [
            item.get("id"),
            "on" if item.get("enabled") else "off",
            item.get("mode"),
            item.get("scope"),
            ("re " if item.get("regex") else "") + shown,
            item.get("hits", 0),
        ]

    def details(self, item: dict[str, Any]) -> RenderableType:
        head = Text(f"rule {item.get('id')}: {item.get('description') or ''}\n", style="bold")
        fields = field_lines(
            [
                ("pattern", repr(item.get("pattern"))),
                ("replacement", repr(item.get("replacement"))),
                ("model", item.get("model")),
                ("priority", item.get("priority")),
                ("hits", item.get("hits")),
            ]
        )
        table = Table(show_edge=False, expand=True)
        for column in ("when", "before", "after", "where"):
            table.add_column(column)
        for entry in item.get("recent") or []:
            if not isinstance(entry, dict):
                continue
            when = time.strftime("%m-%d %H:%M", time.localtime(float(entry.get("created_at", 0))))
            table.add_row(
                when,
                str(entry.get("before_excerpt", ""))[:40],
                str(entry.get("after_excerpt", ""))[:40],
                str(entry.get("session_id") or entry.get("request_id") or ""),
            )
        return Group(head, fields, table)
