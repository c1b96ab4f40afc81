"""Parse a groomed-backlog markdown file (the seed-001 format) into ``BacklogItem`` objects.

The grammar, as the grooming tool writes it:

- ``## <emoji> Ready for Implementation`` and friends: the section heading gives the status
  (ready, ready_soon, needs_decision, optimization, in_progress, done, deferred, archived);
  any other ``##`` section (summary, statistics, recommendations) holds no items.
- ``### N. Title (Task-013)`` starts an item (number and key optional); ``**One-liner**:``,
  ``**Effort**:``, ``**Priority**:``, ``**Risk**:``, ``**Source**:``, ``**Blocker**:``,
  ``**Status**:``, ``**Completed**:`` are fields; ``**Files to modify**:``,
  ``**Dependencies**:``, ``**Evidence**:`` and ``**Acceptance Criteria**:`` take ``- `` lists
  (criteria as ``- [ ]`` / ``- [x]`` checkboxes, usually inside ``<details>``). Everything else
  in the item is kept as its notes.
- In the archived section, ``###`` headings are groups unless numbered or struck through
  (``### ~~Title~~ (Task-007)``, a full archived item); ``- ~~Title~~ ✅ -
  **COMPLETED** date note`` lines are archived items; ``- **Task-012**: title ← **status**``
  lines name the key of an item listed elsewhere (or, when there is none, a deferred task);
  plain ``- Title (Task-009 - note)`` lines under a "Deferred" group are deferred items.

Malformed items are reported as ``Problem(line, message)`` and skipped; the rest is imported.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field

from opencode.commands.backlog.model import (
    KEY_RE,
    STATUSES,
    BacklogItem,
    Criterion,
    best_title_match,
    normalize_title,
)

_FIELD = re.compile(r"^\*\*(?P<label>[^*:]+?)\s*(?::\*\*|\*\*\s*:)\s*(?P<value>.*)$")
_HEADING = re.compile(r"^###\s+(?:(?P<num>\d+)\.\s*)?(?P<title>.*?)\s*$")
_TRAILING_KEY = re.compile(r"^(?P<title>.*?)\s*\((?P<key>[A-Z][A-Za-z]*-\d+|#\d+)\)\s*$")
_CHECKBOX = re.compile(r"^[-*]\s+\[(?P<mark>[ xX])\]\s*(?P<text>.*)$")
_BULLET = re.compile(r"^[-*]\s+(?P<text>.*)$")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_STRUCK = re.compile(r"^~~(?P<inner>.+?)~~\s*(?P<after>.*)$")
_COMPLETED = re.compile(
    r"^\*\*COMPLETED\*\*\s*(?P<date>\d{4}-\d{2}-\d{2})?\s*(?P<note>.*)$", re.IGNORECASE
)
_KEYED = re.compile(r"^(?P<key>[A-Z][A-Za-z]*-\d+)\s*:\s*(?P<title>.*)$")
_REFERENCE = re.compile(
    r"^\*\*(?P<key>[A-Z][A-Za-z]*-\d+)\*\*\s*:\s*(?P<title>.*?)\s*(?:(?:←|<-|‚Üê)\s*(?P<note>.*))?$"
)

SCALAR_FIELDS = {
    "one-liner": "one_liner",
    "one liner": "one_liner",
    "oneliner": "one_liner",
    "effort": "effort",
    "priority": "priority",
    "risk": "risk",
    "source": "source",
    "status": "status",
    "completed": "completed_on",
}
LIST_FIELDS = {
    "files to modify": "files",
    "files": "files",
    "acceptance criteria": "criteria",
    "dependencies": "dependencies",
    "depends on": "dependencies",
    "evidence": "evidence",
    "blockers": "blockers",
    "blocker": "blockers",
    "blocked by": "blockers",
}


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    message: str
    severity: str = "error"  # error: the item was skipped; warning: imported anyway

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"line": self.line, "message": self.message, "severity": self.severity}


@dataclass(slots=True)
class ParsedBacklog:
    items: list[BacklogItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    title: str = ""
    # The date in the file's title ("Groomed Task Backlog - 2025-09-20") as a UTC timestamp.
    planned_at: float | None = None
    # The text the items were read from (mojibake repaired), and for each item's first line
    # (1-based, ``BacklogItem.line``) its last non-blank line: the export writes an unchanged
    # item's lines back verbatim (see ``document``).
    text: str = ""
    ends: dict[int, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def section_status(heading: str) -> str | None:
    """Status for a ``##`` heading; None for sections that hold no items. Emoji (also when
    mis-decoded, as in the seed file) and other non-ASCII letters are ignored."""
    words = re.sub(r"[^a-z/ ]", "", heading.lower()).split()
    text = " ".join(words)
    for prefix, status in (
        ("ready for implementation", "ready"),
        ("ready now", "ready"),
        ("ready soon", "ready_soon"),
        ("needs decision", "needs_decision"),
        ("needs investigation", "needs_decision"),
        ("ready for optimization", "optimization"),
        ("optimization", "optimization"),
        ("in progress", "in_progress"),
        ("done", "done"),
        ("completed", "done"),
        ("deferred", "deferred"),
        ("archived", "archived"),
        ("archive", "archived"),
    ):
        if text.startswith(prefix):
            return status
    return None


def _date_ts(text: str) -> float | None:
    match = _DATE.search(text)
    if not match:
        return None
    year, month, day = (int(g) for g in match.groups())
    try:
        return float(calendar.timegm((year, month, day, 0, 0, 0, 0, 0, 0)))
    except ValueError:
        return None


def _fence_mask(lines: list[str], problems: list[Problem]) -> tuple[list[bool], int | None]:
    """Which lines sit inside ``` fences. An unclosed fence is reported and ignored (so the
    headings after it still count); its line is returned so its item can be skipped."""
    mask = [False] * len(lines)
    opened: int | None = None
    for i, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            mask[i] = True
            opened = i if opened is None else None
        elif opened is not None:
            mask[i] = True
    if opened is not None:
        problems.append(
            Problem(opened + 1, "code fence ``` is never closed; close it with a ``` line")
        )
        for i in range(opened, len(lines)):
            mask[i] = False
        return mask, opened
    return mask, None


def _clean_notes(lines: list[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")


def needs_escape(line: str) -> bool:
    """Would this notes line be read as structure (a heading, a separator, a field)? The
    exporter then writes it with a leading backslash, which the parser removes again."""
    stripped = line.strip()
    if re.match(r"^#{1,3}\s", stripped) or stripped == "---" or stripped.startswith("\\"):
        return True
    if re.match(r"^</?(details|summary)", stripped, re.IGNORECASE):
        return True
    match = _FIELD.match(stripped)
    label = match.group("label").strip().lower() if match else ""
    return label in SCALAR_FIELDS or label in LIST_FIELDS


def _strip_md(text: str) -> str:
    return text.replace("**", "").strip()


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.result = ParsedBacklog()
        self.fence, self.bad_fence = _fence_mask(self.lines, self.result.problems)
        self.references: list[tuple[int, str, str, str]] = []  # line, key, title, note
        self.plain: list[tuple[int, str, str, str]] = []  # line, text, group, status

    def problem(self, line: int, message: str, severity: str = "error") -> None:
        self.result.problems.append(Problem(line, message, severity))

    def run(self) -> ParsedBacklog:
        status: str | None = None
        group = ""
        block: list[int] | None = None  # line indexes of the current item (heading first)
        details_open = False

        def close() -> None:
            nonlocal block
            if block is not None and status is not None:
                item = self.item(block, status, group)
                if item is not None:
                    self.result.items.append(item)
            block = None

        for i, line in enumerate(self.lines):
            if self.fence[i]:
                if block is not None:
                    block.append(i)
                continue
            stripped = line.strip()
            if stripped.startswith("# ") and not self.result.title:
                close()
                self.result.title = stripped[2:].strip()
                self.result.planned_at = _date_ts(self.result.title)
                continue
            if stripped.startswith("## "):
                close()
                status = section_status(stripped[3:])
                group = ""
                details_open = False
                continue
            if stripped.startswith("### "):
                close()
                details_open = False
                if status is None:
                    continue
                numbered = _HEADING.match(stripped)
                is_item = numbered is not None and (
                    numbered.group("num") is not None or numbered.group("title").startswith("~~")
                )
                if status == "archived" and not is_item:
                    group = stripped[4:].strip()
                    continue
                block = [i]
                continue
            if block is not None:
                lowered = stripped.lower()
                if lowered.startswith("<details"):
                    details_open = True
                elif lowered.startswith("</details"):
                    details_open = False
                if stripped == "---" and not details_open:
                    close()
                    continue
                block.append(i)
                continue
            if status is None or not stripped or stripped == "---":
                continue
            if status == "archived" and _BULLET.match(stripped):
                self.archived_line(i, _BULLET.match(stripped).group("text"), group)  # type: ignore[union-attr]
                continue
            self.problem(
                i + 1,
                f"text outside any item in section {status!r} ignored: {stripped[:60]!r} "
                "(start an item with '### Title')",
                "warning",
            )
        close()
        self.resolve_archive_lines()
        self.check_duplicates()
        return self.result

    # -- items -------------------------------------------------------------------------

    def item(self, block: list[int], status: str, group: str) -> BacklogItem | None:
        head = block[0]
        match = _HEADING.match(self.lines[head].strip())
        assert match is not None
        title = match.group("title").strip()
        key: str | None = None
        keyed = _TRAILING_KEY.match(title)
        if keyed:
            title, key = keyed.group("title").strip(), keyed.group("key")
        title = title.replace("~~", "").strip()
        if not title:
            self.problem(head + 1, "item heading has no title (expected '### N. Title (Task-NNN)')")
            return None
        if self.bad_fence is not None and head <= self.bad_fence <= block[-1]:
            self.problem(head + 1, f"item {title!r} skipped: it contains an unclosed code fence")
            return None
        item = BacklogItem(
            title=title,
            key=key,
            number=int(match.group("num")) if match.group("num") else None,
            status=status,
            group=group if status == "archived" else "",
            line=head + 1,
        )
        last = max((i for i in block if self.lines[i].strip()), default=head)
        self.result.ends[head + 1] = last + 1
        notes: list[str] = []
        details_line: int | None = None
        body = block[1:]
        k = 0
        ok = True
        while k < len(body):
            i = body[k]
            line = self.lines[i]
            k += 1
            if self.fence[i]:
                notes.append(line)
                continue
            stripped = line.strip()
            lowered = stripped.lower()
            if lowered.startswith("<details"):
                details_line = i
                continue
            if lowered.startswith("<summary"):
                item.details_summary = re.sub(r"</?summary>", "", stripped).strip()
                continue
            if lowered.startswith("</details"):
                details_line = None
                continue
            fmatch = _FIELD.match(stripped)
            label = fmatch.group("label").strip().lower() if fmatch else ""
            if fmatch and label in SCALAR_FIELDS:
                value = fmatch.group("value").strip()
                attr = SCALAR_FIELDS[label]
                if attr == "status":
                    if value not in STATUSES:
                        self.problem(
                            i + 1,
                            f"item {title!r} skipped: status {value!r} is not one of "
                            f"{', '.join(STATUSES)}",
                        )
                        ok = False
                    else:
                        item.status = value
                    continue
                if not value:
                    self.problem(
                        i + 1, f"item {title!r}: **{fmatch.group('label')}** is empty", "warning"
                    )
                if getattr(item, attr) and attr != "completed_on":
                    self.problem(
                        i + 1,
                        f"item {title!r}: **{fmatch.group('label')}** given twice; "
                        "the last one is kept",
                        "warning",
                    )
                setattr(item, attr, value)
                continue
            if fmatch and label in LIST_FIELDS:
                attr = LIST_FIELDS[label]
                entries: list[tuple[int, str]] = []
                inline = fmatch.group("value").strip()
                if inline:
                    entries.append((i, inline))
                while k < len(body) and not self.fence[body[k]]:
                    bullet = self.lines[body[k]].strip()
                    if not _BULLET.match(bullet):
                        break
                    entries.append((body[k], bullet))
                    k += 1
                if not entries:
                    self.problem(
                        i + 1,
                        f"item {title!r}: **{fmatch.group('label')}** has no '- ' list after it",
                        "warning",
                    )
                for line_index, entry in entries:
                    self.list_entry(item, attr, line_index, entry)
                continue
            if stripped.startswith("\\") and needs_escape(stripped[1:]):
                line = line.replace("\\", "", 1)
            notes.append(line)
        if details_line is not None:
            self.problem(
                details_line + 1,
                f"item {title!r}: <details> is never closed (add </details>)",
                "warning",
            )
        item.notes = _clean_notes(notes)
        return item if ok else None

    def list_entry(self, item: BacklogItem, attr: str, line_index: int, entry: str) -> None:
        if attr == "criteria":
            box = _CHECKBOX.match(entry)
            if box:
                item.criteria.append(Criterion(box.group("text").strip(), box.group("mark") != " "))
                return
            bullet = _BULLET.match(entry)
            text = bullet.group("text") if bullet else entry
            self.problem(
                line_index + 1,
                f"item {item.title!r}: acceptance criterion is not a checkbox "
                f"('- [ ] text' or '- [x] text'): {entry[:60]!r}; imported as not done",
                "warning",
            )
            item.criteria.append(Criterion(re.sub(r"^\[.?\]\s*", "", text).strip(), False))
            return
        bullet = _BULLET.match(entry)
        value = (bullet.group("text") if bullet else entry).strip()
        if value:
            getattr(item, attr).append(value)

    # -- archive lines --------------------------------------------------------------------

    def archived_line(self, i: int, text: str, group: str) -> None:
        text = text.strip()
        if "~~" in text:
            struck = _STRUCK.match(text)
            if not struck or text.count("~~") % 2:
                self.problem(i + 1, f"archived entry has unbalanced ~~ strike-through: {text!r}")
                return
            inner = _strip_md(struck.group("inner"))
            keyed = _KEYED.match(inner)
            key, title = (
                (keyed.group("key"), keyed.group("title").strip()) if keyed else (None, inner)
            )
            if not title:
                self.problem(i + 1, "archived entry has no title between ~~ ~~")
                return
            after = re.sub(r"^[^A-Za-z0-9*]*", "", struck.group("after")).strip()
            completed = _COMPLETED.match(after)
            item = BacklogItem(title=title, key=key, status="archived", group=group, line=i + 1)
            if completed:
                item.completed_on = completed.group("date") or ""
                item.notes = completed.group("note").strip()
            else:
                item.notes = after
            self.result.items.append(item)
            return
        reference = _REFERENCE.match(text)
        if reference:
            self.references.append(
                (
                    i + 1,
                    reference.group("key"),
                    reference.group("title").strip(),
                    _strip_md(reference.group("note") or ""),
                )
            )
            return
        status = "deferred" if "defer" in group.lower() else "archived"
        self.plain.append((i + 1, text, group, status))

    def resolve_archive_lines(self) -> None:
        items = self.result.items
        by_key = {item.key.lower(): item for item in items if item.key}
        for line, key, title, note in self.references:
            if key.lower() in by_key:
                continue
            keyless = [item for item in items if not item.key and item.status != "archived"]
            match = best_title_match(title, keyless, min_shared=2, min_ratio=0.75)
            if match is not None:
                match.key = key
                by_key[key.lower()] = match
                continue
            lowered = note.lower()
            if "defer" in lowered:
                status = "deferred"
            elif "ready for implementation" in lowered:
                status = "ready"
            elif "progress" in lowered:
                status = "in_progress"
            else:
                status = "ready_soon"
            level = re.search(r"\b(critical|high|medium|low)\s+priority", lowered)
            item = BacklogItem(
                title=title or key,
                key=key,
                status=status,
                priority=level.group(1).capitalize() if level else "",
                line=line,
            )
            items.append(item)
            by_key[key.lower()] = item
        for line, text, group, status in self.plain:
            paren = re.match(r"^(?P<title>.*?)\s*\((?P<inner>[^()]*)\)\s*$", text)
            title = _strip_md(paren.group("title") if paren else text)
            inner: str = paren.group("inner") if paren else ""
            key_note = re.match(r"^(?P<key>[A-Z][A-Za-z]*-\d+)\s*(?:[-–:]\s*(?P<note>.*))?$", inner)
            found_key: str | None = key_note.group("key") if key_note else None
            remark: str = (key_note.group("note") or "") if key_note else inner
            if not title:
                self.problem(line, f"archive entry has no title: {text!r}")
                continue
            if found_key and found_key.lower() in by_key:
                existing = by_key[found_key.lower()]
                if remark and remark not in existing.notes:
                    existing.notes = f"{existing.notes}\n\n{remark}".strip()
                continue
            item = BacklogItem(
                title=title,
                key=found_key,
                status=status,
                notes=remark.strip(),
                group=group if status == "archived" else "",
                line=line,
            )
            items.append(item)
            if found_key:
                by_key[found_key.lower()] = item

    def check_duplicates(self) -> None:
        seen_keys: dict[str, BacklogItem] = {}
        seen_titles: dict[str, BacklogItem] = {}
        kept: list[BacklogItem] = []
        for item in self.result.items:
            if item.key:
                first = seen_keys.get(item.key.lower())
                if first is not None:
                    self.problem(
                        item.line,
                        f"key {item.key} is used again (first at line {first.line}); "
                        "this item was skipped — give it its own key",
                    )
                    continue
                seen_keys[item.key.lower()] = item
            else:
                norm = normalize_title(item.title)
                first = seen_titles.get(norm)
                if first is not None:
                    self.problem(
                        item.line,
                        f"item {item.title!r} has no key and repeats the title of line "
                        f"{first.line}; skipped — give one of them a key '(Task-NNN)'",
                    )
                    continue
                seen_titles[norm] = item
            kept.append(item)
        self.result.items = kept
        self.warn_title_clashes(kept)
        self.result.problems.sort(key=lambda p: p.line)

    def warn_title_clashes(self, items: list[BacklogItem]) -> None:
        """A keyless item with the title of a keyed one: both are imported as separate items,
        but a later re-import could not tell which stored row the keyless one stands for."""
        keyed: dict[str, BacklogItem] = {}
        for item in items:
            if item.key:
                keyed.setdefault(normalize_title(item.title), item)
        for item in items:
            other = None if item.key else keyed.get(normalize_title(item.title))
            if other is not None:
                self.problem(
                    item.line,
                    f"item {item.title!r} has no key and the same title as {other.key} at line "
                    f"{other.line}; both imported as separate items — give it a key '(Task-NNN)'",
                    "warning",
                )


def repair_mojibake(text: str) -> str | None:
    """UTF-8 that was once read as Mac Roman (the seed file's emoji read "üöÄ" for 🚀):
    return the repaired text, or None when the text is not of that kind."""
    if text.isascii():
        return None
    try:
        repaired = text.encode("mac_roman").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return repaired if repaired != text else None


def parse_backlog(text: str) -> ParsedBacklog:
    """Parse the whole file; never raises on content (problems are listed instead)."""
    repaired = repair_mojibake(text)
    source = repaired if repaired is not None else text
    result = _Parser(source).run()
    result.text = source
    if repaired is not None:
        result.problems.insert(
            0,
            Problem(
                1,
                "the file is UTF-8 that was decoded as Mac Roman once (emoji such as 'üöÄ'); "
                "read it as repaired UTF-8",
                "warning",
            ),
        )
    return result


__all__ = ["KEY_RE", "ParsedBacklog", "Problem", "parse_backlog", "section_status"]
