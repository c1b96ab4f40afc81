"""Grooming: resolve blockers to items, order the open work, and count the backlog.

Order: the status bucket (in progress, ready, ready soon, optimization, needs decision) as the
seed's phases do, then priority (critical..low), then effort (quick wins first); an item never
comes before an open item that blocks it (a topological sort with that key). A blocker is
matched to an item by ``#N`` (its number in the plan), by key (``Task-012``) or by its words
("after HTTP logic extraction" -> "Extract Common HTTP Request Logic"); blockers that are done
or archived are resolved; "can be done in parallel" notes block nothing.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field
from typing import Any

from opencode.commands.backlog.model import (
    CLOSED_STATUSES,
    KEY_RE,
    OPEN_STATUSES,
    SECTION_NAMES,
    BacklogItem,
    best_title_match,
    effort_hours,
    priority_rank,
)

BUCKETS: tuple[str, ...] = ("in_progress", "ready", "ready_soon", "optimization", "needs_decision")


@dataclass(slots=True)
class BlockerRef:
    text: str
    # The item it names; None when it names nothing we know.
    item: BacklogItem | None = None
    # resolved: done/archived; open: blocks ordering; waiting: deferred item; note: not a blocker
    state: str = "unknown"

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "state": self.state,
            "id": self.item.id if self.item else None,
            "key": self.item.key if self.item else None,
            "title": self.item.title if self.item else None,
        }


@dataclass(slots=True)
class SequenceEntry:
    rank: int
    item: BacklogItem
    blockers: list[BlockerRef] = field(default_factory=list)
    in_cycle: bool = False
    # What the last reality sync found for this item (e.g. "completed_but_undocumented").
    sync: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "id": self.item.id,
            "key": self.item.key,
            "title": self.item.title,
            "status": self.item.status,
            "priority": self.item.to_dict()["priority"],
            "effort": self.item.effort,
            "effort_hours": effort_hours(self.item.effort) if self.item.effort else None,
            "blocked_by": [b.to_dict() for b in self.blockers if b.state == "open"],
            "blockers": [b.to_dict() for b in self.blockers],
            "in_cycle": self.in_cycle,
            "sync": self.sync,
        }


@dataclass(slots=True)
class GroomResult:
    sequence: list[SequenceEntry]
    statistics: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sequence": [e.to_dict() for e in self.sequence],
            "statistics": self.statistics,
            "markdown": render_statistics(self.statistics) + "\n\n" + render_sequence(self),
        }


def resolve_blocker(text: str, item: BacklogItem, items: list[BacklogItem]) -> BlockerRef:
    ref = BlockerRef(text)
    if re.search(r"\bparallel\b", text, re.IGNORECASE):
        ref.state = "note"
        return ref
    others = [other for other in items if other is not item]
    target: BacklogItem | None = None
    number = re.search(r"#(\d+)\b", text)
    if number:
        target = next((o for o in others if o.number == int(number.group(1))), None)
    if target is None:
        for key in KEY_RE.findall(text):
            target = next((o for o in others if o.key and o.key.lower() == key.lower()), None)
            if target is not None:
                break
    if target is None:
        target = best_title_match(text, others, min_shared=2)
    ref.item = target
    if target is None:
        ref.state = "unknown"
    elif target.status in CLOSED_STATUSES:
        ref.state = "resolved"
    elif target.status in OPEN_STATUSES:
        ref.state = "open"
    else:
        ref.state = "waiting"
    return ref


def statistics(items: list[BacklogItem], blocked: int = 0) -> dict[str, int]:
    counts = {status: 0 for status in SECTION_NAMES}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    return {
        "total": len(items),
        **counts,
        "active": sum(counts[s] for s in OPEN_STATUSES),
        "blocked": blocked,
        "criteria_total": sum(len(i.criteria) for i in items),
        "criteria_done": sum(1 for i in items for c in i.criteria if c.done),
    }


def groom(items: list[BacklogItem], sync_state: dict[str, Any] | None = None) -> GroomResult:
    """Order the open items; ``sync_state`` (the last reality sync) adds its findings."""
    open_items = [item for item in items if item.status in OPEN_STATUSES]
    refs = {
        id(item): [resolve_blocker(b, item, items) for b in item.blockers] for item in open_items
    }
    preds: dict[int, set[int]] = {id(item): set() for item in open_items}
    succs: dict[int, list[BacklogItem]] = {id(item): [] for item in open_items}
    for item in open_items:
        for ref in refs[id(item)]:
            if ref.state == "open" and ref.item is not None and id(ref.item) in preds:
                if id(ref.item) not in preds[id(item)]:
                    preds[id(item)].add(id(ref.item))
                    succs[id(ref.item)].append(item)

    def sort_key(item: BacklogItem) -> tuple[int, int, float, int]:
        bucket = BUCKETS.index(item.status) if item.status in BUCKETS else len(BUCKETS)
        hours = effort_hours(item.effort) if item.effort else 4.0
        return (bucket, priority_rank(item.priority), hours, item.id or 0)

    heap: list[tuple[tuple[int, int, float, int], int, BacklogItem]] = []
    for n, item in enumerate(open_items):
        if not preds[id(item)]:
            heapq.heappush(heap, (sort_key(item), n, item))
    order: list[BacklogItem] = []
    remaining = {id(item): len(preds[id(item)]) for item in open_items}
    counter = len(open_items)
    while heap:
        _, _, item = heapq.heappop(heap)
        order.append(item)
        for succ in succs[id(item)]:
            remaining[id(succ)] -= 1
            if remaining[id(succ)] == 0:
                counter += 1
                heapq.heappush(heap, (sort_key(succ), counter, succ))
    placed = {id(item) for item in order}
    cycle = sorted((i for i in open_items if id(i) not in placed), key=sort_key)
    sequence = [SequenceEntry(n + 1, item, refs[id(item)]) for n, item in enumerate(order)]
    sequence += [
        SequenceEntry(len(order) + n + 1, item, refs[id(item)], in_cycle=True)
        for n, item in enumerate(cycle)
    ]
    found = {
        entry.get("id"): entry.get("classification")
        for entry in (sync_state or {}).get("items", [])
        if entry.get("classification") != "not_started"
    }
    for entry in sequence:
        entry.sync = found.get(entry.item.id) if entry.item.id is not None else None
    blocked = sum(1 for item in open_items if any(r.state == "open" for r in refs[id(item)]))
    return GroomResult(sequence, statistics(items, blocked))


STAT_LABELS: tuple[tuple[str, str], ...] = (
    ("total", "Total tasks reviewed"),
    ("in_progress", "In progress"),
    ("ready", "Ready for implementation"),
    ("ready_soon", "Ready soon"),
    ("needs_decision", "Needs investigation"),
    ("optimization", "Ready for optimization"),
    ("done", "Done"),
    ("deferred", "Deferred"),
    ("archived", "Archived"),
    ("active", "Active tasks requiring action"),
    ("blocked", "Blocked by open tasks"),
)


def render_statistics(stats: dict[str, int]) -> str:
    lines = ["## Summary Statistics"]
    lines += [f"- **{label}**: {stats.get(key, 0)}" for key, label in STAT_LABELS]
    if stats.get("criteria_total"):
        lines.append(
            f"- **Acceptance criteria ticked**: {stats['criteria_done']}/{stats['criteria_total']}"
        )
    return "\n".join(lines)


def _effort_phrase(effort: str) -> str:
    inner = re.search(r"\(([^()]*)\)", effort)
    return (inner.group(1) if inner else effort).strip() or "effort unknown"


def render_sequence(result: GroomResult) -> str:
    lines = ["## Implementation Sequence Recommendation"]
    if not result.sequence:
        lines += ["", "Nothing open: every task is done, deferred or archived."]
        return "\n".join(lines)
    phase = 0
    current = None
    for entry in result.sequence:
        item = entry.item
        if item.status != current:
            current = item.status
            phase += 1
            lines += ["", f"**Phase {phase}: {SECTION_NAMES.get(item.status, item.status)}**"]
        title = f"**{item.title}**" + (f" ({item.key})" if item.key else "")
        tail = item.one_liner or item.priority
        line = f"{entry.rank}. {title} → {_effort_phrase(item.effort)}"
        if tail:
            line += f", {tail}"
        after = [b.item.ref for b in entry.blockers if b.state == "open" and b.item is not None]
        if after:
            line += f" (after {', '.join(after)})"
        if entry.in_cycle:
            line += " (blocker cycle: check its blockers)"
        if entry.sync:
            line += f" [last sync: {entry.sync.replace('_', ' ')}; see `backlog sync`]"
        lines.append(line)
    top = result.sequence[:3]
    lines += ["", "## Top 3 Immediate Recommendations", ""]
    for n, entry in enumerate(top, 1):
        why = entry.item.one_liner or entry.item.priority or "next in sequence"
        lines.append(f"{n}. **{entry.item.title}** - {why}")
    return "\n".join(lines)
