"""Plan-versus-reality classification: what the evidence says about each open backlog item.

For each open item it weighs the evidence (``evidence.py``): the commits whose message names
the item's key, the listed files (do they exist, which commits changed them since the plan was
written or since ``--since REV``), test files named after the key or mentioning it, and the
ticked acceptance criteria, and classifies the item:

- ``completed_but_undocumented``: commits name the key and something confirms the work is
  finished (a closing commit such as "closes Task-013", tests for it, or every criterion
  ticked), in the planned files;
- ``divergent``: commits name the key but touched none of the planned files;
- ``partially_completed``: some evidence of work, not enough to call it done;
- ``not_started``: no evidence at all.

The result is a machine-readable sync state (``SyncState.to_dict``, also written as JSON).
Applying it marks completed items done, partial ones in progress and divergent ones "needs
decision", recording the evidence; nothing is marked done without at least one commit.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opencode.commands.backlog.evidence import Commit, RepoEvidence, key_pattern, tests_for
from opencode.commands.backlog.model import OPEN_STATUSES, BacklogItem

CLASSES: tuple[str, ...] = (
    "completed_but_undocumented",
    "partially_completed",
    "divergent",
    "not_started",
)
APPLY_STATUS = {
    "completed_but_undocumented": "done",
    "partially_completed": "in_progress",
    "divergent": "needs_decision",
}
# "closes Task-013" / "Task-013: done" mark a finished task; "Task-013: implement x" does not.
_CLOSING_BEFORE = r"(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?|complete[sd]?|finish(?:e[sd])?)"
_CLOSING_AFTER = r"(?:done|complete[d]?|finished|closed|resolved|fixed)"


@dataclass(slots=True)
class FileCheck:
    entry: str
    path: str | None
    exists: bool = False
    changed_in: list[str] = field(default_factory=list)
    touched_by_key_commits: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "path": self.path,
            "exists": self.exists,
            "changed_in": self.changed_in,
            "touched_by_key_commits": self.touched_by_key_commits,
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

    @property
    def completion_date(self) -> str:
        return max((c.date for c in self.commits), default="")

    def evidence_lines(self, when: str) -> list[str]:
        lines = [f"sync {when}: {self.classification} ({self.confidence} confidence)"]
        lines += [f"commit {c.short} {c.date}: {c.subject}" for c in self.commits]
        lines += [f"test {path}" for path in self.tests]
        for check in self.files:
            if check.path and check.changed_in:
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
            "reasons": self.reasons,
            "evidence": {
                "commits": [c.to_dict() for c in self.commits],
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

    def counts(self) -> dict[str, int]:
        counts = {name: 0 for name in CLASSES}
        for finding in self.findings:
            counts[finding.classification] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.generated_at))
        completed = [f for f in self.findings if f.classification == CLASSES[0]]
        return {
            "version": 1,
            "generated_at": iso,
            "repo": self.repo,
            "head": self.head,
            "since": self.since,
            "applied": self.applied,
            "summary": {"checked": len(self.findings), **self.counts()},
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


def _touches(path: str, changed: str) -> bool:
    return changed == path or changed.startswith(path.rstrip("/") + "/")


def analyse(
    item: BacklogItem,
    repo: Path,
    commits: list[Commit],
    since: str | None,
    test_files: list[str],
    cache: dict[str, str],
) -> ItemFinding:
    reasons: list[str] = []
    key_commits: list[Commit] = []
    closing: str | None = None
    if item.key:
        pattern = key_pattern(item.key)
        close_re = re.compile(
            rf"\b{_CLOSING_BEFORE}\W+{pattern.pattern}|{pattern.pattern}\W+(?:is\s+)?{_CLOSING_AFTER}\b",
            re.IGNORECASE,
        )
        key_commits = [c for c in commits if pattern.search(f"{c.subject}\n{c.body}")]
        for commit in key_commits:
            if close_re.search(f"{commit.subject}\n{commit.body}"):
                closing = commit.hash
                break
    else:
        reasons.append("no key: commits and tests cannot name it (give it one with update --key)")
    # The plan's date (or --since) is the baseline for "changed since".
    window = commits if since else [c for c in commits if c.time >= int(item.planned_at)]
    key_files = {f for c in key_commits for f in c.files}
    checks: list[FileCheck] = []
    for entry in item.files:
        path = listed_path(entry)
        check = FileCheck(entry, path)
        if path:
            check.exists = (repo / path).exists()
            check.changed_in = [c.hash for c in window if any(_touches(path, f) for f in c.files)]
            check.touched_by_key_commits = any(_touches(path, f) for f in key_files)
        checks.append(check)
    verifiable = [c for c in checks if c.path]
    planned_touched = [c for c in verifiable if c.touched_by_key_commits or c.changed_in]
    other_paths = sorted(
        f for f in key_files if not any(c.path and _touches(c.path, f) for c in verifiable)
    )
    tests = tests_for(item.key, repo, test_files, cache) if item.key else []
    done = sum(1 for c in item.criteria if c.done)
    total = len(item.criteria)
    all_ticked = total > 0 and done == total

    if key_commits:
        reasons.append(f"{len(key_commits)} commit(s) name {item.key}")
    if closing:
        reasons.append(f"commit {closing[:10]} says the task is finished")
    if tests:
        reasons.append(f"tests: {', '.join(tests)}")
    if total:
        reasons.append(f"acceptance criteria {done}/{total} ticked")
    missing = [c.path for c in verifiable if not c.exists]
    if missing:
        reasons.append(f"planned files missing: {', '.join(p for p in missing if p)}")
    if planned_touched:
        reasons.append(
            f"planned files changed: {', '.join(c.path for c in planned_touched if c.path)}"
        )
    unverifiable = [c.entry for c in checks if not c.path]
    if unverifiable:
        reasons.append(f"not a path, not checked: {'; '.join(unverifiable)}")

    if key_commits and verifiable and not planned_touched:
        classification = "divergent"
        confidence = "high" if other_paths else "medium"
        reasons.append(
            "the key's commits changed none of the planned files"
            + (f" (they changed {', '.join(other_paths[:5])})" if other_paths else "")
        )
    elif key_commits and (closing or tests or all_ticked):
        classification = "completed_but_undocumented"
        confirmations = sum(bool(x) for x in (closing, tests, all_ticked))
        all_planned = not verifiable or len(planned_touched) == len(verifiable)
        confidence = "high" if confirmations >= 2 and all_planned else "medium"
        if not all_planned:
            reasons.append("some planned files were not changed")
    elif key_commits or planned_touched or tests or done:
        classification = "partially_completed"
        confidence = "medium" if key_commits or tests else "low"
    else:
        classification = "not_started"
        confidence = "high" if item.key else "low"
    return ItemFinding(
        item=item,
        classification=classification,
        confidence=confidence,
        reasons=reasons,
        commits=key_commits,
        files=checks,
        tests=tests,
        other_paths=other_paths,
        criteria_done=done,
        criteria_total=total,
        closing_commit=closing,
    )


def classify(
    items: list[BacklogItem],
    evidence: RepoEvidence,
    since: str | None = None,
    now: float | None = None,
) -> SyncState:
    """Classify every open item against the collected evidence. Reads test files to find the
    ones that mention a key, so async callers run it in a worker thread."""
    cache: dict[str, str] = {}
    findings = [
        analyse(item, evidence.root, evidence.commits, since, evidence.test_files, cache)
        for item in items
        if item.status in OPEN_STATUSES
    ]
    return SyncState(
        repo=str(evidence.root),
        head=evidence.head,
        since=since,
        generated_at=time.time() if now is None else now,
        findings=findings,
    )


def apply_findings(state: SyncState) -> list[ItemFinding]:
    """Set statuses and append evidence on the findings' items (the caller saves them).
    Returns the findings whose item changed; a repeated sync that finds nothing new changes
    nothing (no new evidence lines, no new status)."""
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(state.generated_at))
    changed = []
    for finding in state.findings:
        target = APPLY_STATUS.get(finding.classification)
        if target is None:
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
