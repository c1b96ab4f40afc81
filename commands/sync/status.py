"""A target's sync status as it stands now, computed from the registry and the source HEAD.

``effective_status`` is pure: ``sync status`` (and the TUI's targets panel, which calls it on
every reload) shows it without writing anything. ``persist_statuses`` writes it, and only the
commands that change state call that (``sync detect``, ``sync run`` and the doc/config syncs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opencode.commands.target.repo import ComponentState, Target, TargetRepo

ALL_COMPONENTS = ("code", "docs", "plans", "rag", "config")


def applicable(target: Target, has_code: bool = True) -> tuple[str, ...]:
    """The components a target has: code only where there is a Python to install into."""
    return tuple(c for c in ALL_COMPONENTS if c != "code" or (has_code and target.python))


def component_view(
    target: Target, rows: dict[str, ComponentState], head: str, has_code: bool = True
) -> dict[str, dict[str, Any]]:
    """Each component's synced commit/version and whether it is current at ``head``. A
    component with no row was synced (if ever) with the whole target, before components were
    recorded: it stands at the target's sync_commit. Installed uncommitted changes (dirty) are
    never current: HEAD does not hold them."""
    view: dict[str, dict[str, Any]] = {}
    for component in applicable(target, has_code):
        row = rows.get(component)
        commit = row.sync_commit if row else target.sync_commit
        version = row.sync_version if row else (target.sync_version if commit else None)
        dirty = row.dirty if row else False
        view[component] = {
            "sync_commit": commit,
            "sync_version": version,
            "dirty": dirty,
            "current": commit == head and not dirty,
        }
    return view


def stale_reason(view: dict[str, dict[str, Any]], head: str) -> str | None:
    """Why a target is not current, component by component; None when every one is."""
    parts = []
    for component, state in view.items():
        if state["current"]:
            continue
        if state["sync_commit"] is None:
            parts.append(f"{component} never synced")
        elif state["dirty"]:
            parts.append(f"{component} from uncommitted changes ({state['sync_version']})")
        else:
            parts.append(f"{component} at {state['sync_commit'][:12]}")
    if not parts:
        return None
    return f"behind source HEAD {head[:12]}: " + "; ".join(parts)


@dataclass(frozen=True, slots=True)
class TargetState:
    target: Target
    status: str
    reason: str | None
    interrupted: dict[str, Any] | None
    components: dict[str, dict[str, Any]]

    @property
    def changed(self) -> bool:
        return (self.status, self.reason) != (self.target.status, self.target.status_reason)


def effective_status(
    target: Target,
    head: str,
    interrupted: dict[str, Any] | None,
    components: dict[str, dict[str, Any]] | None = None,
) -> tuple[str, str | None]:
    """A sync run killed mid-way makes the target failed; a synchronized (or never checked)
    target behind the source HEAD, or with any component behind it, needs a sync; anything else
    stays as recorded."""
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
    stale = stale_reason(components or {}, head)
    if target.status in ("synchronized", "unknown") and stale is not None:
        return "needs_sync", stale
    return target.status, target.status_reason


async def target_states(repo: TargetRepo, head: str, has_code: bool = True) -> list[TargetState]:
    """Every registered target with its status as of ``head`` (read-only)."""
    states = []
    for target in await repo.all():
        interrupted = await repo.interrupted_run(target.id)
        view = component_view(target, await repo.components(target.id), head, has_code)
        status, reason = effective_status(target, head, interrupted, view)
        states.append(TargetState(target, status, reason, interrupted, view))
    return states


async def persist_statuses(repo: TargetRepo, head: str, has_code: bool = True) -> bool:
    """Write each target's effective status; True when any row changed."""
    changed = False
    for state in await target_states(repo, head, has_code):
        if state.changed:
            await repo.set_status(state.target.id, state.status, state.reason)
            changed = True
    return changed
