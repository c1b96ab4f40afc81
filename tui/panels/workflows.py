"""The workflow panel (read-only): recent runs, and the selected run's steps with status,
attempts, duration and the first line of each failure. Data comes from ``workflow list`` and
``workflow status ID`` through the registry, as ``--format json`` prints it."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from opencode.commands.registry import CommandContext, CommandResult
from opencode.tui.panels.base import DataPanel, field_lines

MARK = {"ok": "✓", "failed": "✗", "running": "…", "pending": " ", "skipped": "-"}
DETAIL_RUNS = 20


class WorkflowsPanel(DataPanel):
    TITLE = "Workflows"
    COMMAND = ("workflow", "list")
    DOMAIN = "workflow"
    COLUMNS = ["run", "workflow", "status", "ok"]
    EMPTY = "No workflow runs yet. Start one with `/workflow run NAME` (.opencode/workflows/)."

    async def fetch(self, ctx: CommandContext) -> CommandResult:
        result = await self.run_words(ctx, (*self.COMMAND, "--limit", str(DETAIL_RUNS)))
        if result.exit_code != 0 or not isinstance(result.data, list):
            return result
        runs: list[dict[str, Any]] = []
        for run in result.data:
            detail = await self.run_words(ctx, ("workflow", "status", str(run.get("id"))))
            runs.append({**run, **detail.data} if isinstance(detail.data, dict) else run)
        return CommandResult(data=runs)

    def row(self, item: dict[str, Any]) -> list[Any]:
        steps = item.get("steps") or []
        done = sum(1 for s in steps if isinstance(s, dict) and s.get("status") == "ok")
        total = len(steps) or item.get("steps_total")
        return [item.get("id"), item.get("name"), item.get("status"), f"{done}/{total}"]

    def details(self, item: dict[str, Any]) -> RenderableType:
        head = Text(f"run {item.get('id')}: {item.get('name')}\n", style="bold")
        fields = field_lines(
            [
                ("status", item.get("status")),
                ("file", item.get("source")),
                ("error", item.get("error")),
            ]
        )
        table = Table(show_edge=False, expand=True)
        for column in ("", "step", "kind", "tries", "s", "error"):
            table.add_column(column)
        for step in item.get("steps") or []:
            if not isinstance(step, dict):
                continue
            started, finished = step.get("started_at"), step.get("finished_at")
            took = f"{finished - started:.1f}" if started and finished else ""
            error = str(step.get("error") or "").strip().splitlines()
            table.add_row(
                MARK.get(str(step.get("status")), "?"),
                str(step.get("name", "")),
                str(step.get("kind", "")),
                str(step.get("attempts", "")),
                took,
                error[0][:60] if error else "",
            )
        return Group(head, fields, table)
