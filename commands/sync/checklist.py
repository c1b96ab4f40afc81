"""The plan's sync checklist as markdown: detected changes by category and priority, then the
preparation and post-sync verification checklists for one target."""

from __future__ import annotations

from opencode.commands.sync.source import ChangeRecord
from opencode.commands.target.repo import Target


def render(
    target: Target,
    source: str,
    head: str,
    since: str | None,
    changes: list[ChangeRecord],
    cli: str | None,
    created: str,
) -> str:
    lines = [f"# Sync checklist for {target.name}", ""]
    lines.append(f"- Target: `{target.path}` ({target.type})")
    lines.append(f"- Source: `{source}` at `{head[:12]}`")
    lines.append(f"- Since: `{since[:12]}`" if since else "- Since: never synced (full sync)")
    lines.append(f"- Created: {created}")
    lines += ["", "## Detected changes", ""]
    if not changes:
        lines.append("No changes detected." if since else "Initial sync: every component.")
    for record in changes:
        lines.append(
            f"### {record.category} — priority {record.priority.capitalize()} "
            f"({len(record.files)} file{'s' if len(record.files) != 1 else ''})"
        )
        lines.append("")
        lines += [f"- [ ] `{f.path}` ({f.status})" for f in record.files]
        lines.append("")
    lines += [
        "## Preparation",
        "",
        "- [ ] Target identified (`opencode target list`)",
        f"- [ ] Target backed up (`opencode target backup {target.name}`)",
        f"- [ ] Synchronization run (`opencode sync run --target {target.name}`)",
        "",
        f"## Verification Checklist for {target.name}",
        "",
        "### Core Functionality",
        f"- [ ] `{cli or 'opencode'} --help` runs without errors",
        "- [ ] The source package is installed in the target's environment",
        "",
        "### Integration-Specific",
        "- [ ] Configuration loads without errors",
        "",
        "### Documentation",
        "- [ ] Complete docs/ directory copied (file count and sha256 match)",
        "- [ ] Complete plans/ directory copied",
        "- [ ] RAG troubleshooting folder is complete",
        "- [ ] No broken links in copied documents",
        "",
        "### Feature Tests",
        f"- [ ] Run target-specific test suite ({target.test_command or 'none registered'})",
        "",
        "### Pre-flight Check",
        "- [ ] Run pre-flight check script successfully (if the target has one)",
        "",
        f"Run all of these with `opencode sync verify --target {target.name}`.",
        "",
    ]
    return "\n".join(lines)
