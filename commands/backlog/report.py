"""The markdown report of a plan-versus-reality sync, in the shape of the context-network sync
report (seed 000): summary with documentation lag, completed work by confidence with the
commits that earned it, partial and divergent work, what was not started, the reality-versus-
plan table, drift patterns (work no backlog item claims), recommendations, what was applied and
where the machine-readable state went.

Nothing is cut silently: every shortened list says how many more there are and where to see
them (the state file has everything); an item with evidence never reads "commits: none".
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from pathlib import Path

from opencode.commands.backlog.classify import APPLY_STATUS, CLASSES, ItemFinding, SyncState
from opencode.commands.backlog.evidence import Commit

_DAY = 86400
# Commits that maintain the project rather than build a feature: not drift.
_CHORE_WORDS = (
    "bump",
    "pre-commit",
    "dependabot",
    "renovate",
    "update dependency",
    "update docs/requirements",
    "autoupdate",
    "release ",
    "typo",
)


def _more(hidden: int, where: str) -> str:
    return f"and {hidden} more ({where})"


def _commit_list(finding: ItemFinding, limit: int = 5) -> str:
    if not finding.matches:
        return "no commit attributed" + (
            " (a commit named it but fell outside the window)" if finding.commits else ""
        )
    shown = [
        f'`{m.commit.short}` ("{m.commit.subject}", {m.commit.date}; {"; ".join(m.why)})'
        for m in finding.matches[:limit]
    ]
    if len(finding.matches) > limit:
        shown.append(
            _more(len(finding.matches) - limit, "all in the state file: evidence.attribution")
        )
    return ", ".join(shown)


def lag_days(finding: ItemFinding, now: float) -> int | None:
    """Days from the latest commit that did the work to this sync (the documentation lag)."""
    if not finding.completion_time:
        return None
    return max(0, int((now - finding.completion_time) // _DAY))


def _finding_block(n: int, finding: ItemFinding, mark: str, now: float) -> list[str]:
    item = finding.item
    key = f" ({item.key})" if item.key else ""
    lines = [f"#### {n}. **{item.title}**{key} {mark}".rstrip()]
    lines.append(f"- **Evidence**: {_commit_list(finding)}")
    created = [c for c in finding.files if c.path and c.new and c.exists]
    if created:
        lines.append(
            "- **Planned new files**: "
            + ", ".join(
                f"`{c.path}` (created in `{c.added_in[:10]}`)" if c.added_in else f"`{c.path}`"
                for c in created
            )
        )
    locations = sorted({c.path for c in finding.files if c.path and c.exists})
    if locations or finding.other_paths:
        places = locations or finding.other_paths
        where = ", ".join(f"`{p}`" for p in places[:8])
        if len(places) > 8:
            where += " " + _more(len(places) - 8, "state file: evidence.files")
        lines.append(f"- **Implementation location**: {where}")
    if finding.tests:
        lines.append(f"- **Test coverage**: {', '.join(f'`{t}`' for t in finding.tests)}")
    else:
        lines.append("- **Test coverage**: no test file names the key or changed with its commits")
    if finding.criteria_total:
        lines.append(
            f"- **Acceptance criteria**: {finding.criteria_done}/{finding.criteria_total} ticked"
        )
    if finding.completion_date and finding.classification == CLASSES[0]:
        lag = lag_days(finding, now)
        lines.append(
            f"- **Completion date**: {finding.completion_date} (latest attributed commit); "
            f"documentation lag {lag} days"
        )
    if finding.classification == "divergent" and finding.other_paths:
        lines.append(
            "- **Deviations**: work landed in "
            + ", ".join(f"`{p}`" for p in finding.other_paths[:8])
            + " instead of the planned files"
        )
    lines.append(
        f"- **Confidence**: {finding.confidence} (score {finding.score:g}); "
        + "; ".join(finding.reasons)
    )
    if finding.applied_status:
        lines.append(f"- **Action**: ✅ **STATUS → {finding.applied_status.upper()}**")
    elif finding.classification in APPLY_STATUS:
        flag = "" if finding.confidence == "high" else f" --min-confidence {finding.confidence}"
        lines.append(
            f"- **Action**: run `backlog sync --apply{flag}` to set status "
            f"{APPLY_STATUS[finding.classification]}"
        )
    return lines


def _is_chore(commit: Commit) -> bool:
    subject = commit.subject.lower()
    return any(word in subject for word in _CHORE_WORDS) or subject.startswith("merge branch")


def _area(path: str) -> str:
    parts = path.split("/")
    return "/".join(parts[:-1][:3]) + "/" if len(parts) > 1 else path


def drift_clusters(state: SyncState) -> list[tuple[str, list[Commit]]]:
    """Unclaimed, non-chore commits grouped by the folder they changed most: work done
    without a backlog item. Largest first."""
    groups: dict[str, list[Commit]] = {}
    for commit in state.unattributed:
        if _is_chore(commit) or not commit.files:
            continue
        area = Counter(_area(f) for f in commit.files).most_common(1)[0][0]
        groups.setdefault(area, []).append(commit)
    return sorted(groups.items(), key=lambda pair: (-len(pair[1]), pair[0]))


def _table(state: SyncState) -> list[str]:
    lines = [
        "| Planned | Reality | Confidence | Score | Evidence |",
        "|---------|---------|------------|-------|----------|",
    ]
    for f in state.findings:
        if f.matches:
            best = max(f.matches, key=lambda m: m.score)
            evidence = (
                f"{len(f.matches)} commit(s), best `{best.commit.short}` {best.commit.subject}"
            )
        else:
            evidence = "no commit, reference or planned file shows work"
        cell = evidence.replace("|", "\\|")
        title = f.item.title.replace("|", "\\|")
        lines.append(
            f"| {f.item.ref}: {title} | {f.classification} | {f.confidence} | {f.score:g} "
            f"| {cell} |"
        )
    return lines


def _recommendations(state: SyncState, clusters: list[tuple[str, list[Commit]]]) -> list[str]:
    counts = state.counts()
    out = []
    done = [f for f in state.findings if f.classification == CLASSES[0]]
    high = [f for f in done if f.confidence == "high"]
    if high and not state.applied:
        out.append(f"Record the {len(high)} high-confidence completion(s): `backlog sync --apply`.")
    unsure = [f for f in done if f.confidence != "high"]
    if unsure:
        out.append(
            f"Review {len(unsure)} completion(s) below high confidence "
            f"({', '.join(f.item.ref for f in unsure[:6])}"
            + (f", {len(unsure) - 6} more" if len(unsure) > 6 else "")
            + "), then apply with `--min-confidence medium`."
        )
    if counts["divergent"]:
        out.append("Decide on divergent items: update their planned files or split the work.")
    if clusters:
        area, commits = clusters[0]
        out.append(
            f"Add backlog items for unplanned work (largest: {len(commits)} commits in `{area}`)."
        )
    unnamed = [f for f in state.findings if not f.item.key]
    if unnamed:
        out.append(
            f"Give {len(unnamed)} item(s) a key and name it (or their issue, `#123`) in commit "
            "messages: words alone are weaker evidence."
        )
    if counts["not_started"]:
        out.append(
            f"Re-groom the {counts['not_started']} item(s) not started: still wanted, "
            "still the right priority?"
        )
    return out or ["Plan and reality agree; nothing to do."]


def render_report(state: SyncState, state_path: Path | None = None) -> str:
    now = state.generated_at
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(now))
    counts = state.counts()
    by_class: dict[str, list[ItemFinding]] = {name: [] for name in CLASSES}
    for finding in state.findings:
        by_class[finding.classification].append(finding)
    where = f"`{state_path}`" if state_path is not None else "the state file"

    def names(cls: str) -> str:
        found = by_class[cls]
        if not found:
            return ""
        shown = ", ".join(f.item.ref for f in found[:6])
        if len(found) > 6:
            shown += ", " + _more(len(found) - 6, "listed below")
        return f" ({shown})"

    done = by_class["completed_but_undocumented"]
    lags = [(lag_days(f, now), f) for f in done]
    known = [(d, f) for d, f in lags if d is not None]
    lines = [f"# Backlog Sync Report - {stamp}", ""]
    lines += [
        "## Sync Summary",
        f"- **Repository**: `{state.repo}` at `{state.head[:10] or '(no commits)'}`"
        + (f", commits since `{state.since}`" if state.since else "")
        + f" ({state.window} commits considered)",
        f"- **Planned items checked**: {len(state.findings)}",
        f"- **Completed but undocumented**: {counts['completed_but_undocumented']}"
        + names("completed_but_undocumented"),
        f"- **Partially completed**: {counts['partially_completed']}"
        + names("partially_completed"),
        f"- **Divergent implementations**: {counts['divergent']}" + names("divergent"),
        f"- **Not started**: {counts['not_started']}",
    ]
    if known:
        worst_days, worst = max(known, key=lambda pair: pair[0])
        median = int(statistics.median(d for d, _ in known))
        lines.append(
            f"- **Documentation lag identified**: {worst_days} days ({worst.item.ref} completion "
            f"to this sync); median {median} days over {len(known)} completion(s)"
        )
    lines += ["", "## Completed Work Discovered", ""]
    if not done:
        lines += ["No undocumented completions found.", ""]
    for confidence, label in (
        ("high", "High Confidence"),
        ("medium", "Medium Confidence"),
        ("low", "Low Confidence"),
    ):
        group = [f for f in done if f.confidence == confidence]
        if group:
            lines += [f"### {label} Completions", ""]
            for n, finding in enumerate(group, 1):
                lines += _finding_block(n, finding, "✅", now) + [""]
    for cls, title, mark in (
        ("partially_completed", "Partially Completed", "🔄"),
        ("divergent", "Divergent Implementations", "⚠️"),
    ):
        lines += [f"## {title}", ""]
        if not by_class[cls]:
            lines += ["None.", ""]
        for n, finding in enumerate(by_class[cls], 1):
            lines += _finding_block(n, finding, mark, now) + [""]
    lines += ["## Not Started", ""]
    if not by_class["not_started"]:
        lines += ["None.", ""]
    for finding in by_class["not_started"]:
        lines.append(
            f"- {finding.item.ref}: {finding.item.title} (no commit, reference or planned file "
            "shows work)"
        )
    if by_class["not_started"]:
        lines.append("")
    lines += ["## Reality vs Plan", "", *_table(state), ""]
    clusters = drift_clusters(state)
    lines += ["## Drift Patterns Detected", ""]
    if known:
        lines.append(
            f"- **Implementation ahead of documentation**: {len(known)} item(s) done in the "
            f"repository but still open in the backlog (longest lag {max(d for d, _ in known)} "
            "days)"
        )
    if by_class["divergent"]:
        lines.append(f"- **Work outside the planned files**: {len(by_class['divergent'])} item(s)")
    unplanned = sum(len(c) for _, c in clusters)
    lines.append(
        f"- **Work without a backlog item**: {unplanned} of {state.window} commit(s) no item "
        "claims (chores such as dependency bumps left out)"
    )
    for area, commits in clusters[:5]:
        examples = "; ".join(f'`{c.short}` "{c.subject}"' for c in commits[:3])
        rest = (
            f" {_more(len(commits) - 3, 'state file: unattributed_commits')}"
            if len(commits) > 3
            else ""
        )
        lines.append(f"  - `{area}`: {len(commits)} commit(s), e.g. {examples}{rest}")
    if len(clusters) > 5:
        hidden = _more(
            len(clusters) - 5, f"areas; every commit is in {where}: unattributed_commits"
        )
        lines.append(f"  - {hidden}")
    lines += ["", "## Recommendations", ""]
    lines += [f"{n}. {text}" for n, text in enumerate(_recommendations(state, clusters), 1)]
    lines += ["", "## Applied Changes", ""]
    applied = [f for f in state.findings if f.applied_status]
    if not state.applied:
        lines += ["None (dry run). Run `backlog sync --apply` to update statuses.", ""]
    elif not applied:
        lines += [
            "Nothing to change at this confidence (`--min-confidence` lowers the bar).",
            "",
        ]
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
    lines.append(
        "- **Evidence chains**: per item, the attributed commits with why each counts, files, "
        "tests and score (above, and complete in the state file)"
    )
    lines.append("")
    return "\n".join(lines)
