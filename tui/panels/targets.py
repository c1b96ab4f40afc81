"""The target registry panel: each target project's sync state and last verification.

Its data comes from ``sync status`` (whether each target is behind the source HEAD, and its
last verification); when that fails (the source is not a git checkout, say) the panel falls
back to ``target list``, which has neither, and says why in the details."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from opencode.commands.registry import CommandContext, CommandResult, UsageError
from opencode.tui.panels.base import DataPanel, field_lines

STATUS_COMMAND = ("sync", "status")


def _yes_no(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-"


class TargetsPanel(DataPanel):
    TITLE = "Targets"
    COMMAND = ("target", "list")
    DOMAIN = "target"
    COLUMNS = ["name", "status", "behind HEAD", "verified"]
    EMPTY = "No targets registered. Add one with `/target add NAME --path DIR --type source`."

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source: dict[str, Any] = {}
        # Why ``sync status`` could not be used (then behind/verified are unknown), or "".
        self.fallback_reason = ""

    async def fetch(self, ctx: CommandContext) -> CommandResult:
        try:
            result = await self.run_words(ctx, STATUS_COMMAND)
        except UsageError:
            reason = "`sync status` is not available in this build"
        else:
            if result.exit_code == 0:
                self.fallback_reason = ""
                return result
            failure = result.error
            reason = failure.message if failure else (result.text or "`sync status` failed")
        self.fallback_reason = reason
        return await self.run_words(ctx, self.COMMAND)

    def extract(self, data: Any) -> list[dict[str, Any]]:
        if isinstance(data, dict):
            self.source = {k: data.get(k) for k in ("source", "source_head")}
            targets = data.get("targets") or []
            return [t for t in targets if isinstance(t, dict)]
        self.source = {}
        return super().extract(data)

    def row(self, item: dict[str, Any]) -> list[Any]:
        verification = item.get("last_verification") or {}
        return [
            item.get("name"),
            item.get("status"),
            _yes_no(item.get("behind")),
            verification.get("status") if verification else "-",
        ]

    def details(self, item: dict[str, Any]) -> RenderableType:
        verification = item.get("last_verification") or {}
        head = Text(f"{item.get('name')}\n", style="bold")
        fields = field_lines(
            [
                ("path", item.get("path")),
                ("type", item.get("type")),
                ("status", item.get("status")),
                ("last sync", item.get("last_sync")),
                ("sync version", item.get("sync_version")),
                ("behind source HEAD", _yes_no(item.get("behind"))),
                ("source", self.source.get("source")),
                ("source head", self.source.get("source_head")),
            ]
        )
        parts: list[RenderableType] = [head, fields]
        if self.fallback_reason:
            parts.append(Text(f"behind/verified unknown: {self.fallback_reason}\n", style="italic"))
        if verification:
            parts.append(
                field_lines(
                    [
                        ("last verification", verification.get("id")),
                        ("result", verification.get("status")),
                        ("passed", verification.get("passed")),
                        ("failed", verification.get("failed")),
                        ("started", verification.get("started_at")),
                    ]
                )
            )
        return Group(*parts)
