"""Which commits belong to which backlog item, and why.

Each commit in the window is scored against each open item:

- a reference to the item (its key, or an issue/PR number its key, title or Source line
  names): +6, +1 more when the commit closes it ("closes #12", "fixes GH-12");
- the item's words in the commit message: up to +5, scaled by the share of the title's (or
  one-liner's) IDF mass the commit matched, counted only above ``MIN_COVERAGE``; BM25 orders
  equally covering commits;
- a planned ``(new)`` file the commit created: +4;
- a planned file the commit changed: up to +2 with other evidence, +1 alone, times the file's
  rarity (``log(N/df)/log(N)`` over the window: a file most commits touch weighs ~0);
- test files changed alongside words or a reference: +1.

A commit counts for an item at ``ATTRIBUTE_AT`` or more, and only for its best few items
(``MAX_ITEMS_PER_COMMIT``, each within ``RELATIVE_FLOOR`` of its best score); references always
count. Every match keeps the reasons that produced its score.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from opencode.commands.backlog.evidence import Commit, is_test_path, key_pattern
from opencode.commands.backlog.model import BacklogItem, issue_numbers
from opencode.commands.backlog.ranking import BM25Index, TextMatch, tokens

ATTRIBUTE_AT = 3.0
MAX_ITEMS_PER_COMMIT = 3
RELATIVE_FLOOR = 0.6
MIN_COVERAGE = 0.5
# Below MIN_COVERAGE, a match down to WEAK_COVERAGE adds a few points (it can tip a commit that
# also changed the planned files) but never says "done" on its own.
WEAK_COVERAGE = 0.25
_NEW = re.compile(r"\(\s*new(?:\s+(?:file|module|test|folder))?\s*[),;:]", re.IGNORECASE)
# Matched words must carry this much IDF in total: two everyday words are not a match.
MIN_MATCHED_IDF = 3.0
_CLOSING = (
    r"(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?|complete[sd]?|finish(?:e[sd])?|implement(?:s|ed)?)"
)
_CLOSING_AFTER = r"(?:done|complete[d]?|finished|closed|resolved|fixed)"


@dataclass(slots=True)
class ItemQuery:
    """What can name an item in a commit: key pattern, issue numbers, title/one-liner words."""

    names: list[str]
    refs: set[int]
    terms: list[str]
    liner_terms: list[str]
    key_re: re.Pattern[str] | None
    close_re: re.Pattern[str] | None
    new_files: list[str]
    files: list[str]


@dataclass(slots=True)
class CommitMatch:
    commit: Commit
    score: float = 0.0
    why: list[str] = field(default_factory=list)
    referenced: bool = False
    closes: bool = False
    text_coverage: float = 0.0
    text_score: float = 0.0
    text_terms: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "hash": self.commit.hash,
            "subject": self.commit.subject,
            "score": round(self.score, 2),
            "why": self.why,
        }


def listed_path(entry: str) -> str | None:
    """The repository path in a "Files to modify" entry: ```src/a.rs:405-438` (note)`` ->
    ``src/a.rs``; None for prose such as "All provider files"."""
    quoted = re.search(r"`([^`]+)`", entry)
    candidate = quoted.group(1) if quoted else entry.split()[0] if entry.split() else ""
    candidate = re.sub(r":[\d,\-–]+$", "", candidate.strip()).strip()
    if not candidate or " " in candidate:
        return None
    if not quoted and "/" not in candidate and not re.search(r"\.\w+$", candidate):
        return None
    return candidate.lstrip("./") if candidate.startswith("./") else candidate


def planned_new(entry: str) -> bool:
    """Whether a "Files to modify" entry plans a new file: ``(new)``, ``(new file, ...)``;
    not ``(new flag)``, which changes an existing file."""
    return _NEW.search(entry) is not None


def touches(path: str, changed: str) -> bool:
    return changed == path or changed.startswith(path.rstrip("/") + "/")


def _ref_pattern(numbers: set[int]) -> re.Pattern[str]:
    alternatives = "|".join(str(n) for n in sorted(numbers))
    return re.compile(
        rf"(?:(?<![\w&/])#|\bGH-|/issues/|/pull/)(?:{alternatives})(?!\d)", re.IGNORECASE
    )


def build_query(item: BacklogItem) -> ItemQuery:
    refs = issue_numbers(f"{item.source}\n{item.title}")
    if item.key and item.key.startswith("#"):
        refs.add(int(item.key[1:]))
    word_key = item.key if item.key and not item.key.startswith("#") else None
    names = ([word_key] if word_key else []) + [f"#{n}" for n in sorted(refs)]
    key_bits = set(tokens(item.key or ""))

    def words(text: str) -> list[str]:
        # Numbers are references (counted above) or versions; the key's own parts are no words.
        return [t for t in tokens(text) if not t.isdigit() and t not in key_bits]

    patterns = []
    if word_key:
        patterns.append(key_pattern(word_key).pattern)
    if refs:
        patterns.append(_ref_pattern(refs).pattern)
    key_re = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE) if patterns else None
    close_re = None
    if key_re is not None:
        either = "|".join(f"(?:{p})" for p in patterns)
        close_re = re.compile(
            rf"\b{_CLOSING}\W+(?:issue\s+)?(?:{either})|(?:{either})\W+(?:is\s+)?{_CLOSING_AFTER}\b",
            re.IGNORECASE,
        )
    files = [p for p in (listed_path(e) for e in item.files) if p]
    new_files = [p for e in item.files if planned_new(e) and (p := listed_path(e))]
    return ItemQuery(
        names=names,
        refs=refs,
        terms=words(item.title),
        liner_terms=words(item.one_liner),
        key_re=key_re,
        close_re=close_re,
        new_files=new_files,
        files=files,
    )


def _coverage(match: TextMatch | None, index: BM25Index, terms: list[str]) -> float:
    if match is None or not terms:
        return 0.0
    # In a small history even a unique word has a low IDF: the bar is relative to that.
    unseen = index.idf("\x00")
    if sum(index.idf(t) for t in match.matched) < min(MIN_MATCHED_IDF, 0.6 * unseen):
        return 0.0
    if len(set(terms)) >= 2 and len(match.matched) < 2:
        # One shared word, however rare, is at most weak evidence.
        return min(match.coverage, MIN_COVERAGE - 0.01)
    return match.coverage


_KEY_TOKEN = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]+-\d+)(?!\d)")


class HistoryIndex:
    """The window's commits indexed once: by file touched, by key named, by issue referenced,
    and as BM25 corpora (subjects; subjects with bodies). Lookups cost what they return, not
    the window's size (a long history times a large backlog stays fast)."""

    def __init__(self, window: list[Commit]) -> None:
        self.window = window
        self.messages = [f"{c.subject}\n{c.body}" for c in window]
        self.full = BM25Index([tokens(t) for t in self.messages])
        self.subjects = BM25Index([tokens(c.subject) for c in window])
        self._by_file: dict[str, list[int]] = {}
        self._by_key: dict[str, set[int]] = {}
        self._by_ref: dict[int, set[int]] = {}
        for position, commit in enumerate(window):
            for name in set(commit.files):
                self._by_file.setdefault(name, []).append(position)
            message = self.messages[position]
            for key in _KEY_TOKEN.findall(message):
                self._by_key.setdefault(key.lower(), set()).add(position)
            for number in issue_numbers(message):
                self._by_ref.setdefault(number, set()).add(position)
        self._touching: dict[str, list[int]] = {}

    def touching(self, path: str) -> list[int]:
        """Positions (newest first) of the commits that changed ``path`` or files under it."""
        if path not in self._touching:
            found: set[int] = set()
            for name, positions in self._by_file.items():
                if touches(path, name):
                    found.update(positions)
            self._touching[path] = sorted(found)
        return self._touching[path]

    def rarity(self, path: str) -> float:
        """``log(N/df)/log(N)``: 1 for a file only one commit touched, ~0 for one all did."""
        size, count = len(self.window), len(self.touching(path))
        if size < 2 or count == 0:
            return 1.0
        return max(0.0, math.log(size / min(count, size)) / math.log(size))

    def uses_keys_like(self, key: str) -> bool:
        """Whether any commit names a key of this form (``Task-7`` for ``Task-013``): a
        project whose commits never name keys cannot show an item's absence by its key."""
        prefix = key.lower().rsplit("-", 1)[0] + "-"
        return any(token.startswith(prefix) for token in self._by_key)

    def naming(self, item: BacklogItem, query: ItemQuery) -> set[int]:
        """Commits whose message names the item's key or references one of its issues."""
        found: set[int] = set()
        if item.key and not item.key.startswith("#"):
            found |= self._by_key.get(item.key.lower(), set())
        for number in query.refs:
            found |= self._by_ref.get(number, set())
        # The token index is a prefilter: the item's own pattern has the last word.
        pattern = query.key_re
        return {p for p in found if pattern is not None and pattern.search(self.messages[p])}


def attribute(
    items: list[BacklogItem],
    window: list[Commit],
    index: HistoryIndex | None = None,
    since: list[int] | None = None,
) -> tuple[list[list[CommitMatch]], list[ItemQuery]]:
    """Per item, the commits attributed to it (newest first); and each item's query.

    ``since`` (per item, a commit time) is when the item was planned: words, files and
    created files count only in commits from then on; a commit naming the item's key or issue
    counts whenever it was made (work done before the backlog was imported is still its work).
    """
    queries = [build_query(item) for item in items]
    index = index or HistoryIndex(window)
    floors = since or [0] * len(items)
    full, subjects = index.full, index.subjects
    size = len(window)

    candidates: list[dict[int, CommitMatch]] = []
    for item, query, floor in zip(items, queries, floors, strict=True):
        found: dict[int, CommitMatch] = {}
        searches = [
            (subjects.search(query.terms), subjects, query.terms, 1.0, "subject"),
            (full.search(query.terms), full, query.terms, 0.8, "message"),
            (full.search(query.liner_terms), full, query.liner_terms, 0.7, "one-liner"),
        ]
        best: dict[int, tuple[float, TextMatch, str]] = {}
        for hits, engine, terms, factor, label in searches:
            for position, hit in hits.items():
                cover = _coverage(hit, engine, terms) * factor
                if window[position].time < floor:
                    continue
                if cover >= WEAK_COVERAGE and cover > best.get(position, (0.0,))[0]:
                    best[position] = (cover, hit, label)
        for position, (cover, hit, label) in best.items():
            worded = found.setdefault(position, CommitMatch(window[position]))
            worded.text_coverage, worded.text_score = cover, hit.score
            worded.text_terms = hit.matched
            strength = "" if cover >= MIN_COVERAGE else "weak: "
            worded.score += 5.0 * cover if cover >= MIN_COVERAGE else 2.5 * cover
            worded.why.append(
                f"{strength}{label} words {', '.join(hit.matched)} ({cover:.0%} of their "
                f"weight, BM25 {hit.score:g})"
            )
        named = index.naming(item, query)
        by_path = {
            p: {n for n in index.touching(p) if window[n].time >= floor} for p in query.files
        }
        touched = set().union(*by_path.values()) if by_path else set()
        for position in sorted(named | touched | set(found)):
            commit = window[position]
            message = index.messages[position]
            match = found.get(position)
            if position in named:
                match = found.setdefault(position, CommitMatch(commit))
                match.referenced = True
                match.score += 6.0
                match.why.append(f"names {', '.join(query.names)}")
                if query.close_re is not None and query.close_re.search(message):
                    match.closes = True
                    match.score += 1.0
                    match.why.append("closes it")
            created = [
                p
                for p in query.new_files
                if commit.time >= floor and any(touches(p, f) for f in commit.added)
            ]
            if created:
                match = found.setdefault(position, CommitMatch(commit))
                match.score += 4.0
                match.why.append(f"creates planned {', '.join(created)}")
            changed = [
                p
                for p in query.files
                if p not in created
                and (
                    position in by_path[p]
                    # A commit naming the item speaks for its files whenever it was made.
                    or (position in named and any(touches(p, f) for f in commit.files))
                )
            ]
            if changed:
                # Several planned files changed together say more than one; busy ones ~0.
                weight = min(3.0, sum(index.rarity(p) for p in changed))
                backed = match is not None and match.score > 0
                points = (2.0 if backed else 1.0) * weight
                if points >= 0.05:
                    match = found.setdefault(position, CommitMatch(commit))
                    match.score += points
                    match.why.append(
                        f"changes planned {', '.join(changed)} (weight {points:.2f}: "
                        f"rarity {weight:.2f})"
                    )
            if match is not None and match.score > 0 and (match.referenced or match.text_terms):
                if any(is_test_path(f) for f in commit.files):
                    match.score += 1.0
                    match.why.append("changes tests")
        candidates.append(found)

    # Each commit goes to its best few items; a reference to an item always counts.
    per_item: list[list[CommitMatch]] = [[] for _ in items]
    claims: dict[int, list[tuple[float, int]]] = {}
    for number, cands in enumerate(candidates):
        for position, match in cands.items():
            claims.setdefault(position, []).append((match.score, number))
    for position in range(size):
        scored = sorted(claims.get(position, ()), reverse=True)
        if not scored:
            continue
        top = scored[0][0]
        kept = 0
        for score, number in scored:
            match = candidates[number][position]
            if match.referenced or (
                score >= ATTRIBUTE_AT
                and score >= RELATIVE_FLOOR * top
                and kept < MAX_ITEMS_PER_COMMIT
            ):
                match.score = round(match.score, 2)
                per_item[number].append(match)
                kept += 1
    return per_item, queries
