"""The target registry panel: each target project's sync state and last verification."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from tui.panels.base import DataPanel, field_lines


class TargetsPanel(DataPanel):
    TITLE = "Targets"
    COMMAND = ("target", "list")
    DOMAIN = "target"
    COLUMNS = ["name", "status", "behind", "verified"]
    EMPTY = "No targets registered. Add one with `/target add NAME --path DIR --type source`."

    def extract(self, data: Any) -> list[dict[str, Any]]:
        if isinstance(data, dict):
            self.source = {k: data.get(k) for k in ("source", "source_head")}
            targets = data.get("targets") or []
            return [t for t in targets if isinstance(t, dict)]
        return super().extract(data)

    def row(self, item: dict[str, Any]) -> list[Any]:
        verification = item.get("last_verification") or {}
        return [
            item.get("name"),
            item.get("status"),
            item.get("behind"),
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
                ("commits behind", item.get("behind")),
                ("source", getattr(self, "source", {}).get("source")),
                ("source head", getattr(self, "source", {}).get("source_head")),
            ]
        )
        parts: list[RenderableType] = [head, fields]
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
