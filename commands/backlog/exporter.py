"""Write backlog items back out in the groomed-backlog markdown format ``parser`` reads.

Open, done and deferred items are written as full ``### N. Title (Task-013)`` blocks under
their status section; archived items as one struck-through line (``- ~~Title~~ ✅ -
**COMPLETED** date note``) when that line can carry all their fields, else as a struck-through
full block. The computed "Summary Statistics" and "Implementation Sequence" close the file.
``parse_backlog(export_backlog(items))`` gives back the same fields (see ``BacklogItem.fields``).
"""

from __future__ import annotations

import time

from opencode.commands.backlog.groom import groom, render_sequence, render_statistics
from opencode.commands.backlog.model import SECTION_HEADINGS, STATUSES, BacklogItem
from opencode.commands.backlog.parser import needs_escape

EXPORT_ORDER: tuple[str, ...] = STATUSES


def _heading(item: BacklogItem, struck: bool = False) -> str:
    title = f"~~{item.title}~~" if struck else item.title
    number = f"{item.number}. " if item.number is not None else ""
    key = f" ({item.key})" if item.key else ""
    return f"### {number}{title}{key}"


def _list(label: str, entries: list[str]) -> list[str]:
    return [f"**{label}**:"] + [f"- {entry}" for entry in entries] if entries else []


def escape_notes(notes: str) -> str:
    """Backslash the notes lines the parser would take for structure (outside fences)."""
    out = []
    fenced = False
    for line in notes.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and needs_escape(line):
            line = "\\" + line
        out.append(line)
    return "\n".join(out)


def item_block(item: BacklogItem, struck: bool = False) -> list[str]:
    lines = [_heading(item, struck)]
    for label, value in (
        ("One-liner", item.one_liner),
        ("Effort", item.effort),
        ("Priority", item.priority),
        ("Risk", item.risk),
        ("Source", item.source),
    ):
        if value:
            lines.append(f"**{label}**: {value}")
    lines += [f"**Blocker**: {blocker}" for blocker in item.blockers]
    if item.completed_on:
        lines.append(f"**Completed**: {item.completed_on}")
    lines += _list("Files to modify", item.files)
    lines += _list("Evidence", item.evidence)
    inner: list[str] = []
    if item.notes:
        inner += [escape_notes(item.notes), ""]
    if item.dependencies:
        inner += _list("Dependencies", item.dependencies) + [""]
    if item.criteria:
        inner.append("**Acceptance Criteria**:")
        inner += [f"- [{'x' if c.done else ' '}] {c.text}" for c in item.criteria]
        inner.append("")
    if item.details_summary:
        lines += ["", "<details>", f"<summary>{item.details_summary}</summary>", ""]
        lines += inner
        lines.append("</details>")
    elif inner:
        lines.append("")
        lines += inner
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _compact(item: BacklogItem) -> str | None:
    """The one-line archived form, or None when the item has fields it cannot carry."""
    if (
        item.number is not None
        or any((item.one_liner, item.priority, item.effort, item.risk, item.source))
        or any((item.files, item.blockers, item.dependencies, item.criteria, item.evidence))
        or item.details_summary
        or "\n" in item.notes
        or "~~" in item.title
        or (item.notes and not item.notes[0].isalnum())
    ):
        return None
    inner = f"**{item.key}**: {item.title}" if item.key else item.title
    line = f"- ~~{inner}~~ ✅"
    if item.completed_on:
        line += f" - **COMPLETED** {item.completed_on}"
        if item.notes:
            line += f" {item.notes}"
    elif item.notes:
        line += f" - {item.notes}"
    return line


def export_backlog(
    items: list[BacklogItem], title: str | None = None, planned_at: float | None = None
) -> str:
    """A fresh rendering (no imported document to write back). The title's date is the plan
    date — ``planned_at``, else the earliest item's — so a re-import keeps the baseline; today
    only for a backlog that has none."""
    dates = [i.planned_at for i in items if i.planned_at > 0]
    when = planned_at or (min(dates) if dates else time.time())
    date = time.strftime("%Y-%m-%d", time.gmtime(when))
    lines = [f"# {title or f'Groomed Task Backlog - {date}'}", ""]
    lines.append(f"*Exported by opencode backlog export ({len(items)} tasks)*")
    by_status: dict[str, list[BacklogItem]] = {status: [] for status in EXPORT_ORDER}
    for item in items:
        by_status.setdefault(item.status, []).append(item)
    for status in EXPORT_ORDER:
        section = by_status[status]
        if not section:
            continue
        lines += ["", "---", "", f"## {SECTION_HEADINGS[status]}", ""]
        if status != "archived":
            for item in section:
                lines += item_block(item) + ["", "---", ""]
            if lines[-2] == "---":
                del lines[-3:]
            continue
        groups: dict[str, list[BacklogItem]] = {}
        for item in section:
            groups.setdefault(item.group, []).append(item)
        # Items without a group must come before the first group heading.
        for group in sorted(groups, key=lambda g: g != ""):
            if group:
                lines += [f"### {group}", ""]
            full: list[BacklogItem] = []
            for item in groups[group]:
                line = _compact(item)
                if line is None:
                    full.append(item)
                else:
                    lines.append(line)
            for item in full:
                lines += ["", *item_block(item, struck=True)]
            lines.append("")
    groomed = groom(items)
    lines += ["", "---", "", render_statistics(groomed.statistics), ""]
    lines += [render_sequence(groomed), ""]
    return "\n".join(lines)
