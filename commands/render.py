"""Plain-text and JSON renderings of a ``CommandResult`` (the TUI has its own)."""

from __future__ import annotations

import json
from typing import Any

from opencode.commands.registry import CommandResult, Table


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return str(value)


def table_text(table: Table) -> str:
    cells = [[_cell(v) for v in row] for row in table.rows]
    widths = [len(c) for c in table.columns]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    if table.title:
        lines.append(table.title)
    lines.append(
        "  ".join(c.upper().ljust(w) for c, w in zip(table.columns, widths, strict=True)).rstrip()
    )
    for row in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def to_text(result: CommandResult) -> str:
    blocks = [table_text(t) for t in result.tables]
    if result.text:
        blocks.append(result.text)
    if not blocks and result.data is not None:
        blocks.append(json.dumps(result.data, indent=2, default=str))
    return "\n\n".join(blocks)


def to_json(result: CommandResult) -> str:
    return json.dumps(result.data, indent=2, default=str, ensure_ascii=False)
