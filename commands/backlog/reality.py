"""Plan-versus-reality sync: check open backlog items against a git repository.

For each open item it gathers evidence — the commits whose message names the item's key, the
listed files (do they exist, which commits changed them since the plan was written or since
``--since REV``), test files named after the key or mentioning it, and the ticked acceptance
criteria — and classifies the item:

- ``completed_but_undocumented``: commits name the key and something confirms the work is
  finished (a closing commit such as "closes Task-013", tests for it, or every criterion
  ticked), in the planned files;
- ``divergent``: commits name the key but touched none of the planned files;
- ``partially_completed``: some evidence of work, not enough to call it done;
- ``not_started``: no evidence at all.

The result is a machine-readable sync state (``SyncState.to_dict``, also written as JSON) and a
markdown report in the shape of the context-network sync report. Applying it marks completed
items done, partial ones in progress and divergent ones "needs decision", recording the
evidence; nothing is marked done without at least one commit as evidence.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
_TEST_PATH = re.compile(
    r"(^|/)(tests?|spec|__tests__)/|(^|/)test_[^/]*$|_test\.[^/]+$|\.test\.[^/]+$|_spec\.[^/]+$"
)
_MAX_TEST_BYTES = 512 * 1024
# A fixture or snapshot that mentions a key is data, not a test of the task.
_CODE_SUFFIXES = frozenset(
    ".py .rs .go .js .jsx .ts .tsx .mjs .java .kt .rb .php .c .cc .cpp .h .hpp .cs .swift "
    ".scala .sh .bash .ex .exs .clj .lua .dart .zig .nim .jl .r .pl .hs .ml".split()
)
_DATA_DIRS = re.compile(r"(^|/)(fixtures?|snapshots?|__snapshots__|testdata|data)/")


class RealityError(Exception):
    """The repository cannot be inspected (not a git repo, bad revision, git missing)."""


class GitTimeout(RealityError):
    """A git command ran past ``GIT_TIMEOUT_S`` (kept apart so callers that reinterpret a
    failing git call, e.g. as "not a repository", pass it through unchanged)."""


# A hung git (a lock, a credential prompt, a network filesystem) must not hang the sync or
# the TUI worker running it forever.
GIT_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class Commit:
    hash: str
    time: int
    subject: str
    body: str
    files: tuple[str, ...]

    @property
    def short(self) -> str:
        return self.hash[:10]

    @property
    def date(self) -> str:
        return time.strftime("%Y-%m-%d", time.gmtime(self.time))

    def to_dict(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "date": self.date,
            "time": self.time,
            "subject": self.subject,
            "files": list(self.files),
        }


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


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=GIT_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise GitTimeout(
            f"git {' '.join(args[:2])} did not finish within {GIT_TIMEOUT_S:g}s in {repo}; "
            "check that no other git process holds a lock there, then retry "
            "(or narrow the check with --since REV)"
        ) from exc
    except FileNotFoundError as exc:
        raise RealityError("git is not installed or not on PATH; reality sync needs it") from exc
    if done.returncode != 0:
        raise RealityError(f"git {' '.join(args[:2])} failed in {repo}: {done.stderr.strip()}")
    return done.stdout


def repo_root(path: Path) -> Path:
    if not path.is_dir():
        raise RealityError(f"repository {path} does not exist; pass --repo PATH to a git checkout")
    try:
        return Path(_git(path, "rev-parse", "--show-toplevel").strip())
    except GitTimeout:
        raise
    except RealityError as exc:
        raise RealityError(
            f"{path} is not inside a git repository; run the sync in your checkout "
            "or pass --repo PATH"
        ) from exc


def head_commit(repo: Path) -> str:
    try:
        return _git(repo, "rev-parse", "--verify", "-q", "HEAD").strip()
    except GitTimeout:
        raise
    except RealityError:
        return ""  # a repository without commits yet


def history(repo: Path, since: str | None = None) -> list[Commit]:
    """Commits reachable from HEAD (only those after ``since`` when given), newest first."""
    if not head_commit(repo):
        return []
    if since:
        try:
            _git(repo, "rev-parse", "--verify", "-q", f"{since}^{{commit}}")
        except GitTimeout:
            raise
        except RealityError as exc:
            raise RealityError(
                f"--since {since!r} is not a commit in {repo}; give a hash, tag or branch "
                "(see `git log --oneline`)"
            ) from exc
    out = _git(
        repo,
        "-c",
        "core.quotepath=off",
        "log",
        "--no-color",
        "--no-renames",
        "--format=%x1e%H%x1f%ct%x1f%s%x1f%b%x1f",
        "--name-only",
        f"{since}..HEAD" if since else "HEAD",
    )
    commits = []
    for record in out.split("\x1e"):
        if not record.strip():
            continue
        parts = record.split("\x1f")
        if len(parts) < 5:
            continue
        files = tuple(line.strip() for line in parts[4].splitlines() if line.strip())
        commits.append(
            Commit(parts[0].strip(), int(parts[1]), parts[2].strip(), parts[3].strip(), files)
        )
    return commits


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


def _key_pattern(key: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(key)}(?!\d)", re.IGNORECASE)


def _test_files(repo: Path) -> list[str]:
    out = _git(
        repo, "-c", "core.quotepath=off", "ls-files", "--cached", "--others", "--exclude-standard"
    )
    return [
        p
        for p in out.splitlines()
        if _TEST_PATH.search(p)
        and Path(p).suffix.lower() in _CODE_SUFFIXES
        and not _DATA_DIRS.search(p)
    ]


def _tests_for(key: str, repo: Path, test_files: list[str], cache: dict[str, str]) -> list[str]:
    prefix, _, number = key.partition("-")
    name_re = re.compile(rf"{re.escape(prefix.lower())}[-_ ]?0*{int(number)}(?!\d)")
    content_re = _key_pattern(key)
    found = []
    for path in test_files:
        if name_re.search(Path(path).name.lower()):
            found.append(path)
            continue
        if path not in cache:
            full = repo / path
            try:
                cache[path] = (
                    full.read_text(encoding="utf-8", errors="replace")
                    if full.is_file() and full.stat().st_size <= _MAX_TEST_BYTES
                    else ""
                )
            except OSError:
                cache[path] = ""
        if content_re.search(cache[path]):
            found.append(path)
    return found


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
        pattern = _key_pattern(item.key)
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
    tests = _tests_for(item.key, repo, test_files, cache) if item.key else []
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


def check_reality(
    items: list[BacklogItem], repo: Path, since: str | None = None, now: float | None = None
) -> SyncState:
    """Analyse every open item against ``repo`` (read-only)."""
    root = repo_root(repo)
    commits = history(root, since)
    test_files = _test_files(root)
    cache: dict[str, str] = {}
    findings = [
        analyse(item, root, commits, since, test_files, cache)
        for item in items
        if item.status in OPEN_STATUSES
    ]
    return SyncState(
        repo=str(root),
        head=head_commit(root),
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


# -- the markdown report ------------------------------------------------------------------


def _commit_list(commits: list[Commit], limit: int = 5) -> str:
    shown = [f'`{c.short}` ("{c.subject}", {c.date})' for c in commits[:limit]]
    if len(commits) > limit:
        shown.append(f"and {len(commits) - limit} more")
    return ", ".join(shown) or "none"


def _finding_block(n: int, finding: ItemFinding, mark: str) -> list[str]:
    item = finding.item
    key = f" ({item.key})" if item.key else ""
    lines = [f"#### {n}. **{item.title}**{key} {mark}".rstrip()]
    lines.append(f"- **Evidence**: commits {_commit_list(finding.commits)}")
    locations = sorted({c.path for c in finding.files if c.path and c.exists})
    if locations or finding.other_paths:
        where = ", ".join(f"`{p}`" for p in (locations or finding.other_paths)[:8])
        lines.append(f"- **Implementation location**: {where}")
    if finding.tests:
        lines.append(f"- **Test coverage**: {', '.join(f'`{t}`' for t in finding.tests)}")
    else:
        lines.append("- **Test coverage**: no test file names or mentions the key")
    if finding.criteria_total:
        lines.append(
            f"- **Acceptance criteria**: {finding.criteria_done}/{finding.criteria_total} ticked"
        )
    if finding.completion_date and finding.classification == CLASSES[0]:
        lines.append(f"- **Completion date**: {finding.completion_date} (latest commit naming it)")
    if finding.classification == "divergent" and finding.other_paths:
        lines.append(
            "- **Deviations**: work landed in "
            + ", ".join(f"`{p}`" for p in finding.other_paths[:8])
            + " instead of the planned files"
        )
    lines.append(f"- **Confidence**: {finding.confidence}; " + "; ".join(finding.reasons))
    if finding.applied_status:
        lines.append(f"- **Action**: ✅ **STATUS → {finding.applied_status.upper()}**")
    elif finding.classification in APPLY_STATUS:
        lines.append(
            f"- **Action**: run `backlog sync --apply` to set status "
            f"{APPLY_STATUS[finding.classification]}"
        )
    return lines


def render_report(state: SyncState, state_path: Path | None = None) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(state.generated_at))
    counts = state.counts()
    by_class: dict[str, list[ItemFinding]] = {name: [] for name in CLASSES}
    for finding in state.findings:
        by_class[finding.classification].append(finding)

    def names(cls: str) -> str:
        found = by_class[cls]
        return f" ({', '.join(f.item.ref for f in found[:6])})" if found else ""

    lines = [f"# Backlog Sync Report - {stamp}", ""]
    lines += [
        "## Sync Summary",
        f"- **Repository**: `{state.repo}` at `{state.head[:10] or '(no commits)'}`"
        + (f", commits since `{state.since}`" if state.since else ""),
        f"- **Planned items checked**: {len(state.findings)}",
        f"- **Completed but undocumented**: {counts['completed_but_undocumented']}"
        + names("completed_but_undocumented"),
        f"- **Partially completed**: {counts['partially_completed']}"
        + names("partially_completed"),
        f"- **Divergent implementations**: {counts['divergent']}" + names("divergent"),
        f"- **Not started**: {counts['not_started']}",
        "",
        "## Completed Work Discovered",
        "",
    ]
    completed = by_class["completed_but_undocumented"]
    if not completed:
        lines += ["No undocumented completions found.", ""]
    for confidence, label in (("high", "High Confidence"), ("medium", "Medium Confidence")):
        group = [f for f in completed if f.confidence == confidence]
        if group:
            lines += [f"### {label} Completions", ""]
            for n, finding in enumerate(group, 1):
                lines += _finding_block(n, finding, "✅") + [""]
    for cls, title, mark in (
        ("partially_completed", "Partially Completed", "🔄"),
        ("divergent", "Divergent Implementations", "⚠️"),
    ):
        lines += [f"## {title}", ""]
        if not by_class[cls]:
            lines += ["None.", ""]
        for n, finding in enumerate(by_class[cls], 1):
            lines += _finding_block(n, finding, mark) + [""]
    lines += ["## Not Started", ""]
    if not by_class["not_started"]:
        lines += ["None.", ""]
    for finding in by_class["not_started"]:
        lines.append(f"- {finding.item.ref}: {finding.item.title}")
    if by_class["not_started"]:
        lines.append("")
    lines += ["## Applied Changes", ""]
    applied = [f for f in state.findings if f.applied_status]
    if not state.applied:
        lines += ["None (dry run). Run `backlog sync --apply` to update statuses.", ""]
    elif not applied:
        lines += ["Nothing to change.", ""]
    else:
        for finding in applied:
            lines.append(
                f"- ✅ {finding.item.ref} {finding.item.title}: status → "
                f"{finding.applied_status}, evidence recorded"
            )
        lines.append("")
    lines += ["## Sync State", ""]
    if state_path is not None:
        lines.append(f"- **Created**: `{state_path}` (machine-readable, for `backlog groom`)")
    lines.append("- **Evidence chains**: commit hashes, paths and tests per item, above")
    lines.append("")
    return "\n".join(lines)
