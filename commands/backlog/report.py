"""The markdown report of a plan-versus-reality sync, in the shape of the context-network
sync report: summary, completed work by confidence, partial and divergent work, what was not
started, what was applied, and where the machine-readable state went."""

from __future__ import annotations

import time
from pathlib import Path

from opencode.commands.backlog.classify import APPLY_STATUS, CLASSES, ItemFinding, SyncState
from opencode.commands.backlog.evidence import Commit


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
