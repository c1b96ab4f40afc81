"""The imported backlog file kept as a document, so that export gives it back.

An import stores the file's text (mojibake repaired) and, for every imported item, the lines
it came from and its fields as the file states them (table ``backlog_document``). Export then
walks that text: every line that is not an item's — the title with the plan date, free-form
sections such as "Sync Integration Summary", bullet lists, separators — is written verbatim
and in place; an item whose stored fields still equal what its lines say is written verbatim
too; only an item that changed is re-rendered (``exporter.item_block``), in place. Items
added since, or whose one-line form cannot carry their new fields, go at the end of the
section for their status (a new section at the end of the file when there is none).

``check_export`` parses the result again and lists every field that would not come back, so
a difference is reported, never silent.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opencode.commands.backlog.exporter import _compact, item_block
from opencode.commands.backlog.model import SECTION_HEADINGS, BacklogItem, normalize_title
from opencode.commands.backlog.parser import (
    _CHECKBOX,
    _FIELD,
    LIST_FIELDS,
    SCALAR_FIELDS,
    ParsedBacklog,
    _fence_mask,
    parse_backlog,
    section_status,
)

if TYPE_CHECKING:
    from opencode.sessions.store.db import Store


@dataclass(slots=True)
class Span:
    """Where one imported item's lines are (1-based, inclusive) and what they say."""

    item_id: int
    start: int
    end: int
    kind: str  # "block" (### heading and its fields) or "line" (one bullet line)
    section: str | None  # status of the enclosing ## section; None outside one
    struck: bool
    fields: dict[str, Any]


@dataclass(slots=True)
class Document:
    path: str
    text: str
    spans: list[Span]


def _sections(lines: list[str]) -> list[str | None]:
    """The status of the ``##`` section each line sits in (None: a section with no items)."""
    fence, _ = _fence_mask(lines, [])
    out: list[str | None] = []
    current: str | None = None
    for i, line in enumerate(lines):
        if not fence[i] and line.strip().startswith("## "):
            current = section_status(line.strip()[3:])
        out.append(current)
    return out


def spans_for(parsed: ParsedBacklog, fields: dict[int, dict[str, Any]]) -> list[Span]:
    """Spans of the parsed items that were imported (``item.id`` set). ``fields`` holds each
    item's fields as parsed (keyed by ``item.line``), taken before the import merged them."""
    lines = parsed.text.splitlines()
    sections = _sections(lines)
    spans: list[Span] = []
    for item in parsed.items:
        if item.id is None or not 1 <= item.line <= len(lines):
            continue
        head = lines[item.line - 1].strip()
        block = head.startswith("### ")
        spans.append(
            Span(
                item_id=item.id,
                start=item.line,
                end=parsed.ends.get(item.line, item.line) if block else item.line,
                kind="block" if block else "line",
                section=sections[item.line - 1],
                struck=block and "~~" in head,
                fields=fields.get(item.line, item.fields()),
            )
        )
    return spans


async def save_document(store: Store, path: str, text: str, spans: list[Span]) -> None:
    """Keep this file as the document later exports write back (the latest import wins)."""
    payload = json.dumps(
        [
            {
                "item_id": s.item_id,
                "start": s.start,
                "end": s.end,
                "kind": s.kind,
                "section": s.section,
                "struck": s.struck,
                "fields": s.fields,
            }
            for s in spans
        ]
    )
    async with store.transaction():
        await store.execute("DELETE FROM backlog_document")
        await store.execute(
            "INSERT INTO backlog_document (path, text, spans, imported_at) VALUES (?, ?, ?, ?)",
            (path, text, payload, time.time()),
        )


async def load_document(store: Store) -> Document | None:
    row = await store.fetchone(
        "SELECT path, text, spans FROM backlog_document ORDER BY id DESC LIMIT 1"
    )
    if row is None:
        return None
    spans = [Span(**entry) for entry in json.loads(row["spans"])]
    return Document(path=row["path"], text=row["text"], spans=spans)


# Fields an edit command changes that can be patched on their own lines; any other change
# re-renders the whole item.
_LABELS = {
    "one_liner": "One-liner",
    "effort": "Effort",
    "priority": "Priority",
    "risk": "Risk",
    "source": "Source",
    "completed_on": "Completed",
    "status": "Status",
}


def patch_block(
    lines: list[str], item: BacklogItem, old: dict[str, Any], section: str | None
) -> list[str] | None:
    """The item's lines with only what changed edited (a value, a ticked box, a new
    evidence bullet, a **Status** line when it left its section); None when the change is of
    another kind or the patched lines would not read back as ``item``."""
    new = item.fields()
    changed = {name for name in new if new[name] != old.get(name)}
    if not changed <= set(_LABELS) | {"criteria", "evidence"} or section is None:
        return None
    fence, _ = _fence_mask(lines, [])
    where: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        match = None if fence[i] or i == 0 else _FIELD.match(line.strip())
        if match:
            label = match.group("label").strip().lower()
            attr = SCALAR_FIELDS.get(label) or LIST_FIELDS.get(label)
            if attr:
                where.setdefault(attr, []).append(i)
    if any(len(found) > 1 for found in where.values()):
        return None
    at = {attr: found[0] for attr, found in where.items()}
    replaced: dict[int, str | None] = {}
    after: dict[int, list[str]] = {}
    anchor = max((at[a] for a in _LABELS if a in at), default=0)
    wanted = dict(new)
    wanted["status"] = item.status if item.status != section else ""
    for attr in _LABELS:
        if attr != "status" and attr not in changed:
            continue
        value = wanted[attr]
        if attr in at:
            match = _FIELD.match(lines[at[attr]].strip())
            assert match is not None
            replaced[at[attr]] = f"**{match.group('label')}**: {value}" if value else None
        elif value:
            after.setdefault(anchor, []).append(f"**{_LABELS[attr]}**: {value}")
    if "criteria" in changed:
        boxes = [
            i
            for i in range(at.get("criteria", len(lines)) + 1, len(lines))
            if not fence[i] and _CHECKBOX.match(lines[i].strip())
        ]
        olds, news = old["criteria"], new["criteria"]
        if len(boxes) != len(olds) or [c["text"] for c in olds] != [c["text"] for c in news]:
            return None
        for i, was, now in zip(boxes, olds, news, strict=True):
            if was["done"] != now["done"]:
                mark = "[x]" if now["done"] else "[ ]"
                line = lines[i]
                start = line.index("[")
                replaced[i] = line[:start] + mark + line[start + 3 :]
    if "evidence" in changed:
        added = new["evidence"][len(old["evidence"]) :]
        if new["evidence"][: len(old["evidence"])] != old["evidence"]:
            return None
        if "evidence" in at:
            last = at["evidence"]
            while last + 1 < len(lines) and lines[last + 1].strip().startswith(("- ", "* ")):
                last += 1
            after.setdefault(last, []).extend(f"- {e}" for e in added)
        else:
            after.setdefault(anchor, []).extend(["**Evidence**:", *(f"- {e}" for e in added)])
    out: list[str] = []
    for i, line in enumerate(lines):
        kept = replaced.get(i, line) if i in replaced else line
        if kept is not None:
            out.append(kept)
        out += after.get(i, [])
    check = parse_backlog("\n".join([f"## {SECTION_HEADINGS[section]}", "", *out]))
    if len(check.items) != 1 or check.items[0].fields() != new:
        return None
    return out


def _section_insert_point(lines: list[str], sections: list[str | None], status: str) -> int | None:
    """The last content line of the first section for ``status`` (None: no such section)."""
    heads = [i for i, s in enumerate(sections) if s == status and lines[i].startswith("## ")]
    if not heads:
        return None
    head = heads[0]
    end = next((i for i in range(head + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    point = end - 1
    while point > head and lines[point].strip() in ("", "---"):
        point -= 1
    return point


def _separated(status: str, block: list[str]) -> list[str]:
    # Items in the archived section follow each other; elsewhere a --- line separates them.
    return ["", *block] if status == "archived" else ["", "---", "", *block]


def render_document(document: Document, items: list[BacklogItem]) -> str:
    """The document with the stored items written into it (see the module docstring)."""
    lines = document.text.splitlines()
    sections = _sections(lines)
    by_id = {item.id: item for item in items if item.id is not None}
    replace: dict[int, tuple[int, list[str]]] = {}  # 0-based start -> (0-based end, lines)
    placed: set[int] = set()
    homeless: list[BacklogItem] = []
    for span in document.spans:
        start, end = span.start - 1, span.end - 1
        if start in replace or not 0 <= start <= end < len(lines):
            continue
        item = by_id.get(span.item_id)
        if item is None:  # no longer stored: its lines go
            replace[start] = (end, [])
            continue
        placed.add(span.item_id)
        if item.fields() == span.fields:
            continue
        if span.kind == "block":
            patched = patch_block(lines[start : end + 1], item, span.fields, span.section)
            if patched is not None:
                replace[start] = (end, patched)
                continue
            struck = span.struck or (span.section == "archived" and item.number is None)
            block = item_block(item, struck=struck)
            if item.status != span.section:
                block.insert(1, f"**Status**: {item.status}")
            replace[start] = (end, block)
            continue
        compact = _compact(item) if item.status == span.section == "archived" else None
        if compact is not None:
            replace[start] = (end, [compact])
        else:  # the one-line form cannot say it any more: a full block in its section
            replace[start] = (end, [])
            homeless.append(item)
    moved = {id(item) for item in homeless}
    homeless += [i for i in items if i.id not in placed and id(i) not in moved]
    inserts: dict[int, list[str]] = {}
    new_sections: dict[str, list[str]] = {}
    points: dict[str, int | None] = {}
    for item in homeless:
        struck = item.status == "archived"
        block = item_block(item, struck=struck)
        if item.status not in points:
            points[item.status] = _section_insert_point(lines, sections, item.status)
        point = points[item.status]
        if point is None:
            section = new_sections.setdefault(item.status, [])
            section += _separated(item.status, block) if section else ["", *block]
        else:
            inserts.setdefault(point, []).extend(_separated(item.status, block))
    out: list[str] = []
    i = 0
    while i < len(lines):
        if i in replace:
            end, new = replace[i]
            out += new
            covered = range(i, end + 1)
            i = end + 1
        else:
            out.append(lines[i])
            covered = range(i, i + 1)
            i += 1
        for c in covered:
            out += inserts.get(c, [])
    for status, section in new_sections.items():
        while out and not out[-1].strip():
            out.pop()
        out += ["", "---", "", f"## {SECTION_HEADINGS[status]}", *section]
    text = "\n".join(out)
    return text + "\n" if document.text.endswith(("\n", "\r")) or new_sections else text


def _identity(item: BacklogItem) -> str:
    return f"key:{item.key.lower()}" if item.key else f"title:{normalize_title(item.title)}"


def check_export(text: str, items: list[BacklogItem]) -> list[str]:
    """What a re-import of ``text`` would not give back of ``items``, one line each."""
    parsed = parse_backlog(text)
    notes = [
        f"line {p.line}: does not import (written as it was): {p.message}" for p in parsed.errors
    ]
    back = {_identity(item): item for item in parsed.items}
    for item in items:
        found = back.pop(_identity(item), None)
        if found is None:
            notes.append(f"{item.ref}: not found in the export")
            continue
        want, got = item.fields(), found.fields()
        for name, value in want.items():
            if got[name] != value:
                notes.append(f"{item.ref}: {name} reads back as {got[name]!r}, not {value!r}")
    notes += [f"line {i.line}: {i.ref} is in the export but not stored" for i in back.values()]
    return notes
