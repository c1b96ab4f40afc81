"""Plain-text and JSON renderings of a ``CommandResult`` (the TUI has its own).

They read the result's fields: a failure is ``result.error`` (message and hint), never a
prefix found in ``result.text``."""

from __future__ import annotations

import json
from typing import Any

from opencode.commands.registry import CommandResult, OutputFormat, Table


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
    elif result.error is not None:
        blocks.append("\n".join(result.error.lines()))
    if not blocks and result.data is not None:
        blocks.append(json.dumps(result.data, indent=2, default=str))
    return "\n\n".join(blocks)


def to_json(result: CommandResult) -> str:
    payload = result.data
    if payload is None and result.error is not None:
        payload = result.error.to_json()
    return json.dumps(payload, indent=2, default=str, ensure_ascii=False)


def render(result: CommandResult, fmt: OutputFormat) -> str:
    """The result in ``fmt``: ``markdown`` is the handler's own text when it wrote one."""
    if fmt == "json":
        return to_json(result)
    if fmt == "markdown" and result.text:
        return result.text
    return to_text(result)
