"""Backlog domain objects and the small vocabularies (statuses, priority and effort scales).

``BacklogItem.to_dict`` is the shape the TUI backlog panel and ``--format json`` consume:
``id, key, title, one_liner, priority (level), effort, risk, status, blockers, files,
criteria [{text, done}], evidence, notes`` plus a few extra fields.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

STATUSES: tuple[str, ...] = (
    "in_progress",
    "ready",
    "ready_soon",
    "needs_decision",
    "optimization",
    "done",
    "deferred",
    "archived",
)
OPEN_STATUSES: frozenset[str] = frozenset(
    {"in_progress", "ready", "ready_soon", "needs_decision", "optimization"}
)
CLOSED_STATUSES: frozenset[str] = frozenset({"done", "archived"})

# Section headings written by the exporter (the seed's emoji, correctly encoded).
SECTION_HEADINGS: dict[str, str] = {
    "in_progress": "🚧 In Progress",
    "ready": "🚀 Ready for Implementation (High Priority)",
    "ready_soon": "⏳ Ready Soon (Medium Priority)",
    "needs_decision": "🔍 Needs Decision/Investigation",
    "optimization": "🔄 Ready for Optimization (Lower Priority)",
    "done": "✅ Done",
    "deferred": "⏸️ Deferred",
    "archived": "🗑️ Archived Tasks",
}
SECTION_NAMES: dict[str, str] = {
    "in_progress": "In Progress",
    "ready": "Ready for Implementation",
    "ready_soon": "Ready Soon",
    "needs_decision": "Needs Decision/Investigation",
    "optimization": "Ready for Optimization",
    "done": "Done",
    "deferred": "Deferred",
    "archived": "Archived",
}

PRIORITY_LEVELS: tuple[str, ...] = ("critical", "high", "medium", "low")
# Effort words -> hours, used when the text gives no explicit duration.
EFFORT_WORDS: dict[str, float] = {
    "trivial": 0.5,
    "small": 1.5,
    "medium": 3.0,
    "large": 6.0,
    "xl": 12.0,
    "huge": 12.0,
}
UNKNOWN_EFFORT_HOURS = 4.0

KEY_RE = re.compile(r"\b([A-Z][A-Za-z]*-\d+)\b")
# Every key form an item may carry: ``Task-013``/``GH-123`` (word-number) or an issue ``#123``.
KEY_FORMAT = re.compile(r"[A-Z][A-Za-z]*-\d+|#\d+")
# Issue and pull-request references in commit messages and Source lines: ``#123``,
# ``(#123)``, ``GH-123``, ``.../issues/123``, ``.../pull/123``.
ISSUE_REF = re.compile(r"(?:(?<![\w&/])#|\bGH-|/issues/|/pull/)(\d+)\b", re.IGNORECASE)


def valid_key(value: str) -> bool:
    """Whether ``value`` is a key commits can name: ``Task-014``, ``GH-12`` or ``#123``."""
    return KEY_FORMAT.fullmatch(value) is not None


def issue_numbers(text: str) -> set[int]:
    """Issue/PR numbers referenced in ``text`` ("closes #12, see GH-9" -> {12, 9})."""
    return {int(n) for n in ISSUE_REF.findall(text)}


_DURATION = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:-|–|to)?\s*(\d+(?:\.\d+)?)?\s*(hours?|hrs?|h|minutes?|mins?|m|days?|d)\b",
    re.IGNORECASE,
)


def priority_level(text: str) -> str:
    """``"High (production readiness)"`` -> ``"high"``; unknown text -> ``""``."""
    match = re.match(r"\s*([A-Za-z]+)", text)
    word = match.group(1).lower() if match else ""
    return word if word in PRIORITY_LEVELS else ""


def priority_rank(text: str) -> int:
    level = priority_level(text)
    return PRIORITY_LEVELS.index(level) if level else len(PRIORITY_LEVELS)


def effort_hours(text: str) -> float:
    """``"Large (4-6 hours)"`` -> 5.0; ``"Small (30-45 minutes)"`` -> 0.625; ``"Medium"`` -> 3."""
    match = _DURATION.search(text)
    if match:
        low = float(match.group(1))
        high = float(match.group(2)) if match.group(2) else low
        unit = match.group(3).lower()
        value = (low + high) / 2
        if unit.startswith("m"):
            return round(value / 60, 3)
        if unit.startswith("d"):
            return value * 8
        return value
    word = re.match(r"\s*([A-Za-z]+)", text)
    if word and word.group(1).lower() in EFFORT_WORDS:
        return EFFORT_WORDS[word.group(1).lower()]
    return UNKNOWN_EFFORT_HOURS


def normalize_title(title: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", title.lower()))


@dataclass(slots=True)
class Criterion:
    text: str
    done: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "done": self.done}


@dataclass(slots=True)
class BacklogItem:
    title: str
    key: str | None = None
    number: int | None = None
    one_liner: str = ""
    priority: str = ""
    effort: str = ""
    risk: str = ""
    status: str = "ready"
    source: str = ""
    files: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    criteria: list[Criterion] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    notes: str = ""
    group: str = ""
    details_summary: str = ""
    completed_on: str = ""
    id: int | None = None
    planned_at: float = 0.0
    created_at: float = 0.0
    updated_at: float = 0.0
    # Where the item started in an imported file (1-based); 0 when not imported.
    line: int = 0

    @property
    def ref(self) -> str:
        """How to name the item to a person: its key, else ``#id``, else its title."""
        if self.key:
            return self.key
        return f"#{self.id}" if self.id is not None else repr(self.title)

    def fields(self) -> dict[str, Any]:
        """The fields an import/export round trip must keep (for comparisons)."""
        return {
            "key": self.key,
            "number": self.number,
            "title": self.title,
            "one_liner": self.one_liner,
            "priority": self.priority,
            "effort": self.effort,
            "risk": self.risk,
            "status": self.status,
            "source": self.source,
            "files": list(self.files),
            "blockers": list(self.blockers),
            "dependencies": list(self.dependencies),
            "criteria": [c.to_dict() for c in self.criteria],
            "evidence": list(self.evidence),
            "notes": self.notes,
            "completed_on": self.completed_on,
        }

    def to_dict(self) -> dict[str, Any]:
        data = self.fields()
        data["priority"] = priority_level(self.priority) or self.priority.strip().lower()
        data["priority_text"] = self.priority
        data["effort_hours"] = effort_hours(self.effort) if self.effort else None
        data["criteria_done"] = sum(1 for c in self.criteria if c.done)
        data["group"] = self.group
        return {
            "id": self.id,
            **data,
            "planned_at": self.planned_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


# Words that carry no meaning when matching a blocker or reference to an item's title.
_STOPWORDS = frozenset(
    "a an the of for to in into with and or from on by as is be can should must after before "
    "complete completed completes done task tasks it its this that all new".split()
)
_SUFFIXES = (
    "izations",
    "ization",
    "ations",
    "ation",
    "ments",
    "ment",
    "ings",
    "ing",
    "ions",
    "ion",
    "izes",
    "ized",
    "ize",
    "ies",
    "ed",
    "es",
    "s",
    "e",
)


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def stem_words(text: str) -> list[str]:
    """Crude stems of the meaningful words, in order and with repeats (for ranking)."""
    return [
        _stem(word)
        for word in re.findall(r"[a-z0-9]+", text.lower())
        if word not in _STOPWORDS and len(word) >= 2
    ]


def stems(text: str) -> set[str]:
    """Crude stems of the meaningful words: "optimization" and "Optimize" both give "optim"."""
    return set(stem_words(text))


def best_title_match(
    text: str, candidates: list[BacklogItem], *, min_shared: int = 2, min_ratio: float = 0.0
) -> BacklogItem | None:
    """The one candidate whose title shares the most stems with ``text``; None when no
    candidate shares ``min_shared`` stems (and ``min_ratio`` of ``text``'s stems) or when the
    best score is tied (an ambiguous reference is not guessed)."""
    wanted = stems(text)
    if not wanted:
        return None
    scored: list[tuple[int, BacklogItem]] = []
    for item in candidates:
        shared = len(wanted & stems(item.title))
        if shared >= min_shared and shared / len(wanted) >= min_ratio:
            scored.append((shared, item))
    if not scored:
        return None
    scored.sort(key=lambda pair: -pair[0])
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        return None
    return scored[0][1]
