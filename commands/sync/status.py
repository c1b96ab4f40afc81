"""A target's sync status as it stands now, computed from the registry and the source HEAD.

``effective_status`` is pure: ``sync status`` (and the TUI's targets panel, which calls it on
every reload) shows it without writing anything. ``persist_statuses`` writes it, and only the
commands that change state call that (``sync detect``, ``sync run`` and the doc/config syncs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opencode.commands.target.repo import Target, TargetRepo


@dataclass(frozen=True, slots=True)
class TargetState:
    target: Target
    status: str
    reason: str | None
    interrupted: dict[str, Any] | None

    @property
    def changed(self) -> bool:
        return (self.status, self.reason) != (self.target.status, self.target.status_reason)


def effective_status(
    target: Target, head: str, interrupted: dict[str, Any] | None
) -> tuple[str, str | None]:
    """A sync run killed mid-way makes the target failed; a synchronized (or never checked)
    target behind the source HEAD needs a sync; anything else stays as recorded."""
    if interrupted is not None and target.status != "failed":
        return (
            "failed",
            f"sync run {interrupted['id']} interrupted at {interrupted['step']}; restore with "
            f"`opencode target restore {target.name} --backup {interrupted['backup_id']}`",
        )
    if target.status in ("synchronized", "unknown") and target.sync_commit != head:
        return (
            "needs_sync",
            f"source HEAD {head[:12]} is newer than {(target.sync_commit or 'never synced')[:12]}",
        )
    return target.status, target.status_reason


async def target_states(repo: TargetRepo, head: str) -> list[TargetState]:
    """Every registered target with its status as of ``head`` (read-only)."""
    states = []
    for target in await repo.all():
        interrupted = await repo.interrupted_run(target.id)
        status, reason = effective_status(target, head, interrupted)
        states.append(TargetState(target, status, reason, interrupted))
    return states


async def persist_statuses(repo: TargetRepo, head: str) -> bool:
    """Write each target's effective status; True when any row changed."""
    changed = False
    for state in await target_states(repo, head):
        if state.changed:
            await repo.set_status(state.target.id, state.status, state.reason)
            changed = True
    return changed
