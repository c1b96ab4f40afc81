"""Plan-versus-reality classification: what the evidence says about each open backlog item.

Evidence is weighed per commit, then per item (``attribution.py`` scores each commit against
each item and gives every commit to at most a few items, the best-scoring ones). Signals:

- references: the item's key (``Task-013``, ``#123``) or an issue/PR its Source line names
  (``(#123)``, ``refs #123``, ``closes GH-123``) in a commit message; "closes/fixes" closes;
- words: BM25 of the title and one-liner against commit subjects and bodies, with IDF over the
  repository's commits (a word every commit uses weighs nothing);
- planned ``(new)`` files created by a commit, and whether they exist now;
- planned files changed, discounted by how many other commits touched them (a busy CLI module
  is noise, a file only this work touched is evidence);
- tests added or changed by the item's commits, or naming its key; ticked criteria.

Classes:

- ``completed_but_undocumented``: attributed commits plus something that says finished (a
  closing reference, tests, every planned new file created, every criterion ticked, or a
  commit whose words match the item closely and that changed the planned files);
- ``divergent``: commits reference the item but changed none of the planned files;
- ``partially_completed``: some evidence, not enough to call it done (or planned new files
  still missing);
- ``not_started``: no evidence (high confidence only where the project's commits name keys
  or the item has an issue to reference: elsewhere silence proves less).

Every finding carries a score and the evidence that produced it (which commits, and why). The
result is a machine-readable sync state (``SyncState.to_dict``, also written as JSON).
Applying it (only findings at or above ``min_confidence``, high by default) marks completed
items done, partial ones in progress and divergent ones "needs decision", recording the
evidence; nothing is marked done without at least one commit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opencode.commands.backlog.attribution import (
    CommitMatch,
    HistoryIndex,
    ItemQuery,
    attribute,
    listed_path,
    planned_new,
    touches,
)
from opencode.commands.backlog.evidence import Commit, RepoEvidence, is_test_path, tests_for
from opencode.commands.backlog.model import OPEN_STATUSES, BacklogItem

CLASSES: tuple[str, ...] = (
    "completed_but_undocumented",
    "partially_completed",
    "divergent",
    "not_started",
)
CONFIDENCES: tuple[str, ...] = ("low", "medium", "high")
APPLY_STATUS = {
    "completed_but_undocumented": "done",
    "partially_completed": "in_progress",
    "divergent": "needs_decision",
}
# A commit whose words cover this share of the title's IDF mass "says" it did the item.
STRONG_TEXT = 0.75


@dataclass(slots=True)
class FileCheck:
    entry: str
    path: str | None
    exists: bool = False
    new: bool = False  # planned as "(new)"
    added_in: str | None = None  # the commit that created it, inside the window
    changed_in: list[str] = field(default_factory=list)
    touched_by_key_commits: bool = False  # by a commit attributed to the item
    # Commits in the window that touched it without being attributed to the item: noise.
    other_changes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "path": self.path,
            "exists": self.exists,
            "new": self.new,
            "added_in": self.added_in,
            "changed_in": self.changed_in,
            "touched_by_key_commits": self.touched_by_key_commits,
            "other_changes": self.other_changes,
        }


@dataclass(slots=True)
class ItemFinding:
    item: BacklogItem
    classification: str
    confidence: str
    reasons: list[str]
    commits: list[Commit]
    files: list[FileCheck]
    tests: list[str]
    other_paths: list[str]
    criteria_done: int
    criteria_total: int
    closing_commit: str | None = None
    applied_status: str | None = None
    score: float = 0.0
    matches: list[CommitMatch] = field(default_factory=list)

    @property
    def completion_date(self) -> str:
        return max((c.date for c in self.commits), default="")

    @property
    def completion_time(self) -> int:
        return max((c.time for c in self.commits), default=0)

    def evidence_lines(self, when: str) -> list[str]:
        lines = [f"sync {when}: {self.classification} ({self.confidence} confidence)"]
        lines += [
            f"commit {m.commit.short} {m.commit.date}: {m.commit.subject} [{'; '.join(m.why)}]"
            for m in self.matches
        ]
        lines += [f"test {path}" for path in self.tests]
        for check in self.files:
            if check.path and check.added_in:
                lines.append(f"created {check.path} in {check.added_in[:10]}")
            elif check.path and check.changed_in:
                lines.append(
                    f"changed {check.path} in {', '.join(h[:10] for h in check.changed_in)}"
                )
        if self.criteria_total:
            lines.append(f"criteria {self.criteria_done}/{self.criteria_total} ticked")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.item.id,
            "key": self.item.key,
            "title": self.item.title,
            "status": self.item.status,
            "classification": self.classification,
            "confidence": self.confidence,
            "score": self.score,
            "reasons": self.reasons,
            "evidence": {
                "commits": [c.to_dict() for c in self.commits],
                "attribution": [m.to_dict() for m in self.matches],
                "closing_commit": self.closing_commit,
                "files": [f.to_dict() for f in self.files],
                "tests": self.tests,
                "other_paths": self.other_paths,
                "criteria": {"done": self.criteria_done, "total": self.criteria_total},
            },
            "applied_status": self.applied_status,
        }


@dataclass(slots=True)
class SyncState:
    repo: str
    head: str
    since: str | None
    generated_at: float
    findings: list[ItemFinding]
    applied: bool = False
    # Commits in the window no item claimed (newest first): work done without a backlog item.
    unattributed: list[Commit] = field(default_factory=list)
    window: int = 0  # commits considered

    def counts(self) -> dict[str, int]:
        counts = {name: 0 for name in CLASSES}
        for finding in self.findings:
            counts[finding.classification] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.generated_at))
        completed = [f for f in self.findings if f.classification == CLASSES[0]]
        return {
            "version": 2,
            "generated_at": iso,
            "repo": self.repo,
            "head": self.head,
            "since": self.since,
            "applied": self.applied,
            "summary": {"checked": len(self.findings), **self.counts()},
            "commits_considered": self.window,
            "unattributed_commits": [c.to_dict() for c in self.unattributed],
            "items": [f.to_dict() for f in self.findings],
            "grooming_hints": {
                "skip_completed": [f.item.ref for f in completed],
                "in_progress": [
                    f.item.ref for f in self.findings if f.classification == "partially_completed"
                ],
                "needs_decision": [
                    f.item.ref for f in self.findings if f.classification == "divergent"
                ],
            },
        }


def _check_files(
    item: BacklogItem, repo: Path, index: HistoryIndex, in_window: set[str], mine: set[str]
) -> list[FileCheck]:
    checks: list[FileCheck] = []
    for entry in item.files:
        path = listed_path(entry)
        check = FileCheck(entry, path, new=planned_new(entry))
        if path:
            check.exists = (repo / path).exists()
            for position in index.touching(path):
                commit = index.window[position]
                if commit.hash not in in_window and commit.hash not in mine:
                    continue  # before the plan, and not the item's own work
                check.changed_in.append(commit.hash)
                if commit.hash in mine:
                    check.touched_by_key_commits = True
                else:
                    check.other_changes += 1
                if any(touches(path, f) for f in commit.added):
                    check.added_in = commit.hash  # oldest creation wins (newest first list)
        checks.append(check)
    return checks


def analyse(
    item: BacklogItem,
    repo: Path,
    index: HistoryIndex,
    in_window: set[str],
    matches: list[CommitMatch],
    query: ItemQuery,
    test_files: list[str],
    cache: dict[str, str],
) -> ItemFinding:
    reasons: list[str] = []
    commits = [m.commit for m in matches]
    mine = {c.hash for c in commits}
    if not item.key and not query.refs and not query.terms:
        reasons.append("no key, issue or title words: nothing can name it (update --key)")
    elif not item.key and not query.refs:
        reasons.append("no key or issue reference: matched by title words and files only")
    closing = next((m.commit.hash for m in matches if m.closes), None)
    referenced = [m for m in matches if m.referenced]
    strong_text = [m for m in matches if m.text_coverage >= STRONG_TEXT]
    checks = _check_files(item, repo, index, in_window, mine)
    verifiable = [c for c in checks if c.path]
    planned_touched = [c for c in verifiable if c.touched_by_key_commits]
    new_planned = [c for c in verifiable if c.new]
    new_present = [c for c in new_planned if c.exists]
    new_missing = [c for c in new_planned if not c.exists]
    key_files = {f for c in commits for f in c.files}
    other_paths = sorted(
        f for f in key_files if not any(c.path and touches(c.path, f) for c in verifiable)
    )
    tests = set(tests_for(item.key, repo, test_files, cache)) if item.key else set()
    tests |= {f for c in commits for f in c.files if is_test_path(f)}
    test_list = sorted(tests)
    done = sum(1 for c in item.criteria if c.done)
    total = len(item.criteria)
    all_ticked = total > 0 and done == total

    if commits:
        reasons.append(
            f"{len(commits)} commit(s) attributed (score {sum(m.score for m in matches):g})"
        )
    if referenced:
        reasons.append(f"{len(referenced)} commit(s) reference {', '.join(query.names)}")
    if closing:
        reasons.append(f"commit {closing[:10]} says the work is finished")
    if strong_text:
        best = max(strong_text, key=lambda m: m.text_score)
        reasons.append(
            f"commit {best.commit.short} matches the title's words "
            f"({', '.join(best.text_terms)}; BM25 {best.text_score:g})"
        )
    if test_list:
        reasons.append(
            f"tests: {', '.join(test_list[:5])}"
            + (f" and {len(test_list) - 5} more" if len(test_list) > 5 else "")
        )
    if total:
        reasons.append(f"acceptance criteria {done}/{total} ticked")
    if new_present:
        reasons.append(f"planned new files exist: {', '.join(c.path or '' for c in new_present)}")
    missing = [c.path for c in verifiable if not c.exists]
    if missing:
        reasons.append(f"planned files missing: {', '.join(p for p in missing if p)}")
    if planned_touched:
        reasons.append(
            f"planned files changed by its commits: "
            f"{', '.join(c.path for c in planned_touched if c.path)}"
        )
    noisy = [c for c in verifiable if c.other_changes and not c.touched_by_key_commits]
    if noisy:
        reasons.append(
            "changed only by other work (not counted): "
            + ", ".join(f"{c.path} ({c.other_changes} commits)" for c in noisy)
        )
    unverifiable = [c.entry for c in checks if not c.path]
    if unverifiable:
        reasons.append(f"not a path, not checked: {'; '.join(unverifiable)}")

    classification, confidence = _decide(
        commits=bool(commits),
        referenced=bool(referenced),
        closing=bool(closing),
        strong_text=bool(strong_text),
        tests=bool(test_list),
        all_ticked=all_ticked,
        ticked=done > 0,
        verifiable=len(verifiable),
        planned_touched=len(planned_touched),
        new_planned=len(new_planned),
        new_present=len(new_present),
        new_missing=len(new_missing),
        other_paths=bool(other_paths),
        # Silence means "not started" only where the project names keys or issues in commits.
        nameable=bool(
            query.refs
            or (item.key and (item.key.startswith("#") or index.uses_keys_like(item.key)))
        ),
    )
    if classification == "divergent":
        reasons.append(
            "the referencing commits changed none of the planned files"
            + (f" (they changed {', '.join(other_paths[:5])})" if other_paths else "")
        )
    elif classification == "partially_completed" and new_missing and (commits or new_present):
        reasons.append("some planned new files do not exist yet")
    elif classification == "completed_but_undocumented" and len(planned_touched) + len(
        new_present
    ) < len(verifiable):
        reasons.append("some planned files were not changed")
    score = round(sum(m.score for m in matches) + 2.0 * len(new_present), 2)
    return ItemFinding(
        item=item,
        classification=classification,
        confidence=confidence,
        reasons=reasons,
        commits=commits,
        files=checks,
        tests=test_list,
        other_paths=other_paths,
        criteria_done=done,
        criteria_total=total,
        closing_commit=closing,
        score=score,
        matches=matches,
    )


def _decide(
    *,
    commits: bool,
    referenced: bool,
    closing: bool,
    strong_text: bool,
    tests: bool,
    all_ticked: bool,
    ticked: bool,
    verifiable: int,
    planned_touched: int,
    new_planned: int,
    new_present: int,
    new_missing: int,
    other_paths: bool,
    nameable: bool,
) -> tuple[str, str]:
    """The class and confidence from the signals (kept apart so the rules read as a table)."""
    if not commits and not new_present and not ticked:
        return "not_started", "high" if nameable else "medium"
    if referenced and verifiable and not planned_touched and not new_present:
        return "divergent", "high" if other_paths else "medium"
    if commits and verifiable and not planned_touched and not new_present and not referenced:
        # Words alone matched commits that changed none of the planned files.
        return "partially_completed", "low"
    if new_missing:
        return "partially_completed", "medium" if commits or new_present else "low"
    all_new = new_planned > 0 and new_present == new_planned
    covered = planned_touched + new_present
    all_planned = not verifiable or covered >= verifiable
    finished = [
        closing,
        tests,
        all_ticked,
        all_new,
        # Words that say it and most of the planned files changed by those same commits.
        strong_text and planned_touched > 0 and 2 * covered >= verifiable,
    ]
    if commits and any(finished):
        confirmations = sum(finished) + int(referenced) + int(strong_text and not finished[4])
        confident = confirmations >= 2 and all_planned
        return "completed_but_undocumented", "high" if confident else "medium"
    return "partially_completed", "medium" if referenced or tests or new_present else "low"


def classify(
    items: list[BacklogItem],
    evidence: RepoEvidence,
    since: str | None = None,
    now: float | None = None,
) -> SyncState:
    """Classify every open item against the collected evidence. Reads test files to find the
    ones that mention a key, so async callers run it in a worker thread."""
    cache: dict[str, str] = {}
    open_items = [item for item in items if item.status in OPEN_STATUSES]
    commits = evidence.commits
    # The plan's date (or --since) is the baseline for words and files; references to the
    # item count across the history collected (all of it, or what follows --since).
    floors = [0 if since else int(item.planned_at) for item in open_items]
    history = HistoryIndex(commits)
    per_item, queries = attribute(open_items, commits, history, floors)
    findings = []
    claimed: set[str] = set()
    windows: dict[int, set[str]] = {}  # items imported together share a plan date
    for number, item in enumerate(open_items):
        floor = floors[number]
        if floor not in windows:
            windows[floor] = {c.hash for c in commits if c.time >= floor}
        in_window = windows[floor]
        matches = per_item[number]
        claimed |= {m.commit.hash for m in matches}
        findings.append(
            analyse(
                item,
                evidence.root,
                history,
                in_window,
                matches,
                queries[number],
                evidence.test_files,
                cache,
            )  # fmt: skip
        )
    baseline = min(floors, default=0)
    window = [c for c in commits if c.time >= baseline]
    return SyncState(
        repo=str(evidence.root),
        head=evidence.head,
        since=since,
        generated_at=time.time() if now is None else now,
        findings=findings,
        unattributed=[c for c in window if c.hash not in claimed],
        window=len(window),
    )


def apply_findings(state: SyncState, min_confidence: str = "high") -> list[ItemFinding]:
    """Set statuses and append evidence on the findings' items (the caller saves them), for
    findings at or above ``min_confidence``. Returns the findings whose item changed; a
    repeated sync that finds nothing new changes nothing (no new evidence lines or status)."""
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(state.generated_at))
    floor = CONFIDENCES.index(min_confidence)
    changed = []
    for finding in state.findings:
        target = APPLY_STATUS.get(finding.classification)
        if target is None or CONFIDENCES.index(finding.confidence) < floor:
            continue
        if target == "done" and not finding.commits:
            continue  # never done without a commit to show for it
        item = finding.item
        header, *details = finding.evidence_lines(when)
        fresh = [line for line in details if line not in item.evidence]
        if not fresh and item.status == target:
            continue
        item.evidence += [header, *fresh]
        if target == "done":
            item.completed_on = finding.completion_date
        item.status = target
        finding.applied_status = target
        changed.append(finding)
    state.applied = True
    return changed
