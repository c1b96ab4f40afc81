"""Synchronizing one target: plan, back up, install code, copy docs/plans/RAG, merge config,
verify, and restore the backup automatically when any step fails.

Where things land in a target (``<path>`` is the target's folder):
- code: the source installed into the target's Python (``--python``) with pip; editable for
  ``source`` targets, a regular install for ``site-packages`` targets;
- docs / plans / RAG: ``<path>/<[sync] dest, default "opencode">/docs|plans|RAG``;
- config: ``<path>/opencode.toml``, merged (see ``configmerge``).

A sync_run row is written first (status running), so a process killed mid-sync leaves a row
that says where it stopped and which backup restores the target.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opencode.commands.registry import CommandContext, CommandError
from opencode.commands.sync import source as src
from opencode.commands.sync.backup import RestoreReport, create_backup, restore_backup
from opencode.commands.sync.configmerge import MergeResult, merge, parse, read_config
from opencode.commands.sync.env import (
    SyncEnv,
    check_target,
    config_path,
    doc_dest,
    doc_source,
    root,
)
from opencode.commands.sync.files import (
    CopyItem,
    atomic_copy,
    atomic_write,
    plan_copy,
    sha256_file,
    tree_files,
)
from opencode.commands.sync.pyenv import dist_files, pip_excerpt, pip_install
from opencode.commands.sync.status import component_view, stale_reason
from opencode.commands.sync.verify import run_verification
from opencode.commands.target.repo import Backup, Target

PAUSE_ENV = "OPENCODE_TEST_PAUSE_AFTER"


def current_code(env: SyncEnv, target: Target) -> list[str] | None:
    if not target.python or not env.package.name:
        return None
    return dist_files(target.python, env.package.name)


def code_roots(env: SyncEnv, target: Target) -> dict[str, Any]:
    if not target.python or not env.package.name:
        return {}
    return {"code": {"python": target.python, "dist": env.package.name}}


# -- planning --------------------------------------------------------------------------------


@dataclass(slots=True)
class SyncPlan:
    copies: list[CopyItem] = field(default_factory=list)
    config: MergeResult | None = None
    code: bool = False
    code_files: list[str] = field(default_factory=list)
    # files an earlier sync installed that the source no longer has (removed by this sync),
    # and those the target changed since (kept, reported)
    removals: list[CopyItem] = field(default_factory=list)
    kept_modified: list[str] = field(default_factory=list)
    # component -> {target path: sha256} of every file it installs, the new manifest
    manifest: dict[str, dict[str, str]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        per: dict[str, int] = {}
        for item in self.copies:
            per[item.component] = per.get(item.component, 0) + 1
        return {
            "code": self.code,
            "copied": per,
            "config_added": self.config.added if self.config else [],
            "removed": [str(r.dst) for r in self.removals],
            "kept_modified": self.kept_modified,
        }


def plan(
    env: SyncEnv,
    target: Target,
    components: set[str],
    complete: bool,
    installed: dict[str, dict[str, str]] | None = None,
) -> SyncPlan:
    """Everything the sync will change, worked out before anything is written (bad config,
    missing python and the like fail here, with the target untouched). ``installed``: the
    manifest of files earlier syncs installed (``TargetRepo.installed_files``)."""
    result = SyncPlan()
    for component in ("docs", "plans", "rag"):
        if component not in components:
            continue
        _plan_manifest(env, target, component, (installed or {}).get(component, {}), result)
        result.copies += plan_copy(
            component, doc_source(env, component), doc_dest(env, target, component), complete
        )
        if component == "docs":
            dest_root = root(target) / env.settings.dest
            for name in env.settings.extra_docs:
                source_file, dest_file = env.source / name, dest_root / name
                if source_file.is_file() and (
                    complete
                    or not dest_file.is_file()
                    or sha256_file(source_file) != sha256_file(dest_file)
                ):
                    result.copies.append(CopyItem("docs", source_file, dest_file))
    if "config" in components:
        source_config = env.source / "opencode.toml"
        target_config = config_path(target)
        target_text = read_config(target_config)
        if source_config.is_file():
            result.config = merge(
                target_config,
                target_text,
                source_config,
                source_config.read_text(encoding="utf-8"),
                env.settings.keep_keys,
                env.settings.merge_tables,
            )
        elif target_text is not None:
            parse(target_config, target_text)  # still refuse a broken target config
    if "code" in components and target.python and env.package.name:
        result.code = True
        result.code_files = current_code(env, target) or []
    return result


def _plan_manifest(
    env: SyncEnv, target: Target, component: str, before: dict[str, str], result: SyncPlan
) -> None:
    """The new manifest of ``component``, and which files of the old one go: those the source
    no longer has, still under the target's folder, and unchanged since opencode wrote them
    (a file the target edited is kept and reported, never deleted)."""
    src_root, dst_root = doc_source(env, component), doc_dest(env, target, component)
    now = {str(dst_root / rel): sha256_file(src_root / rel) for rel in tree_files(src_root)}
    if component == "docs":
        dest_root = root(target) / env.settings.dest
        for name in env.settings.extra_docs:
            if (env.source / name).is_file():
                now[str(dest_root / name)] = sha256_file(env.source / name)
    result.manifest[component] = now
    target_root = root(target).resolve()
    for path, sha in sorted(before.items()):
        if path in now:
            continue
        dst = Path(path)
        if not dst.resolve().is_relative_to(target_root) or not dst.is_file() or dst.is_symlink():
            continue  # gone already, or not ours to touch
        if sha256_file(dst) != sha:
            result.kept_modified.append(path)
            continue
        result.removals.append(CopyItem(component, dst, dst))


# -- backup / restore ------------------------------------------------------------------------


async def snapshot_backup(env: SyncEnv, target: Target) -> Backup:
    """``target backup``: every file of every component, restorable exactly."""
    check_target(target)
    entries: list[tuple[str, Path]] = []
    snapshot: dict[str, str] = {}
    for component in ("docs", "plans", "rag"):
        dest = doc_dest(env, target, component)
        snapshot[component] = str(dest)
        entries += [(component, dest / rel) for rel in tree_files(dest)]
    dest_root = root(target) / env.settings.dest
    entries += [("docs", dest_root / name) for name in env.settings.extra_docs]
    entries.append(("config", config_path(target)))
    # the target's python lists its files: a subprocess, kept off the event loop
    code_files = await asyncio.to_thread(current_code, env, target)
    entries += [("code", Path(p)) for p in code_files or []]
    roots: dict[str, Any] = {
        "snapshot": snapshot,
        **code_roots(env, target),
        "components": ["docs", "plans", "rag", "config"]
        + (["code"] if code_roots(env, target) else []),
    }
    return await create_backup(env.repo, target, env.data_dir, entries, "manual", roots)


def restore(
    env: SyncEnv, target: Target, backup: Backup, components: set[str] | None = None
) -> RestoreReport:
    code_now: list[str] | None = None
    code = backup.roots.get("code")
    if code and (components is None or "code" in components):
        python = code.get("python")
        if python and Path(python).exists():
            code_now = dist_files(python, code["dist"]) or []
    report = restore_backup(backup, components, code_now, root(target))
    if report.mismatched:
        raise CommandError(
            f"restore of backup {backup.id} left {len(report.mismatched)} file(s) differing from "
            f"the backup's sha256: {', '.join(report.mismatched[:5])}; check disk space and "
            "permissions, then run `opencode target restore` again"
        )
    return report


async def restore_async(
    env: SyncEnv, target: Target, backup: Backup, components: set[str] | None = None
) -> RestoreReport:
    """``restore`` in a worker thread, so the TUI keeps drawing during a large restore."""
    return await asyncio.to_thread(restore, env, target, backup, components)


def _restore_failure(exc: BaseException) -> str:
    if isinstance(exc, CommandError | OSError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


async def _try_restore(env: SyncEnv, target: Target, backup: Backup) -> str | None:
    """Restore after a failed or cancelled sync; the error text if that failed too, so the run
    row never stays ``running``."""
    try:
        await restore_async(env, target, backup)
    except Exception as exc:
        return _restore_failure(exc)
    return None


# -- the sync itself -------------------------------------------------------------------------


class StepFailed(Exception):
    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step


async def _pause(ctx: CommandContext, step: str) -> None:
    """Test hook: stop at a step so a test can kill the process at a known point."""
    if os.environ.get(PAUSE_ENV) == step:
        ctx.progress(f"sync: paused after {step} ({PAUSE_ENV})")
        await asyncio.sleep(3600)


async def detect_since(
    env: SyncEnv, target: Target, since: str | None
) -> tuple[str | None, list[Any]]:
    rev = since or target.sync_commit
    if rev is None:
        return None, []
    try:
        resolved = await src.resolve_rev(env.source, rev)
    except CommandError:
        if since:
            raise
        return None, []  # the last synced commit is gone (rebased source): a full sync
    return resolved, await src.detect_changes(env.settings, resolved)


async def sync_target(
    env: SyncEnv,
    target: Target,
    *,
    components: set[str],
    kind: str = "full",
    complete: bool = False,
    verify: bool = True,
    tests: list[str] | None = None,
    since: str | None = None,
    dirty: src.DirtyState | None = None,
) -> dict[str, Any]:
    """Sync ``components`` of ``target`` to the source HEAD. ``dirty``: the source's
    uncommitted changes, which the caller allowed (``--allow-dirty``); they are recorded in the
    version label, never passed off as the commit."""
    ctx, repo = env.ctx, env.repo
    check_target(target)
    interrupted = await repo.interrupted_run(target.id)
    if interrupted is not None:
        raise CommandError(
            f"target {target.name}: sync run {interrupted['id']} was interrupted at step "
            f"{interrupted['step']!r}, so the target may be half-synced; restore it first with "
            f"`opencode target restore {target.name} --backup {interrupted['backup_id']}`"
        )
    since_commit, changes = await detect_since(env, target, since)
    installed = await repo.installed_files(target.id)
    sync_plan = await asyncio.to_thread(plan, env, target, components, complete, installed)
    run_id = await repo.start_sync_run(target.id, kind, env.head, since_commit)
    record: dict[str, Any] = {
        "detected": [c.to_dict() for c in changes],
        "initial": since_commit is None,
        **sync_plan.summary(),
    }
    await repo.update_sync_run(run_id, changes=record)
    ctx.progress(f"sync {target.name}: backing up")

    entries: list[tuple[str, Path]] = [(c.component, c.dst) for c in sync_plan.copies]
    entries += [(r.component, r.dst) for r in sync_plan.removals]
    if sync_plan.config is not None and sync_plan.config.changed:
        entries.append(("config", config_path(target)))
    entries += [("code", Path(p)) for p in sync_plan.code_files]
    roots: dict[str, Any] = code_roots(env, target) if sync_plan.code else {}
    roots["components"] = sorted(
        ({"code"} if sync_plan.code else set())
        | {c.component for c in sync_plan.copies}
        | {r.component for r in sync_plan.removals}
        | ({"config"} if sync_plan.config is not None and sync_plan.config.changed else set())
    )
    try:
        backup = await create_backup(repo, target, env.data_dir, entries, "sync", roots)
    except (CommandError, OSError) as exc:
        # nothing in the target was touched yet: close the run and say so
        await repo.update_sync_run(run_id, status="failed", error=f"backup: {exc}")
        raise CommandError(
            f"target {target.name}: backup failed before any change ({exc}); check free space "
            f"and permissions under {env.data_dir}"
        ) from exc
    await repo.update_sync_run(run_id, backup_id=backup.id, step="backup")
    await _pause(ctx, "backup")

    verification: dict[str, Any] | None = None
    step = "code"
    try:
        if sync_plan.code:
            assert target.python is not None
            ctx.progress(f"sync {target.name}: installing {env.package.name} into {target.python}")
            await repo.update_sync_run(run_id, step="code")
            editable = target.type == "source"
            files = None if editable else await src.install_files(env.source)
            proc = await pip_install(target.python, env.source, editable, files)
            if not proc.ok:
                await repo.update_sync_run(run_id, log=proc.output)
                raise StepFailed(
                    "code",
                    f"pip install failed (exit {proc.returncode}):\n{pip_excerpt(proc.output)}\n"
                    f"(full pip output: `opencode sync show {run_id}`)",
                )
            await _pause(ctx, "code")
        for component in ("docs", "plans", "rag"):
            items = [c for c in sync_plan.copies if c.component == component]
            if not items:
                continue
            step = component
            await repo.update_sync_run(run_id, step=component)
            ctx.progress(f"sync {target.name}: copying {len(items)} {component} file(s)")
            for item in items:
                try:
                    await asyncio.to_thread(atomic_copy, item.src, item.dst)
                except OSError as exc:
                    raise StepFailed(
                        component, f"cannot copy {item.src} to {item.dst}: {exc}"
                    ) from exc
            await _pause(ctx, component)
        for item in sync_plan.removals:
            step = item.component
            try:
                await asyncio.to_thread(item.dst.unlink, True)
            except OSError as exc:
                raise StepFailed(item.component, f"cannot remove {item.dst}: {exc}") from exc
        if sync_plan.config is not None and sync_plan.config.changed:
            step = "config"
            await repo.update_sync_run(run_id, step="config")
            try:
                atomic_write(config_path(target), sync_plan.config.text.encode("utf-8"))
            except OSError as exc:
                raise StepFailed("config", f"cannot write {config_path(target)}: {exc}") from exc
            await _pause(ctx, "config")
        if verify:
            step = "verify"
            await repo.update_sync_run(run_id, step="verify")
            verification = await run_verification(
                env, target, tests, sync_run_id=run_id, commit=None if dirty else env.head
            )
            await repo.update_sync_run(run_id, verification_id=verification["id"])
            if verification["status"] != "passed":
                failed = [c["name"] for c in verification["checks"] if c["status"] == "failed"]
                raise StepFailed(
                    "verify", f"verification {verification['id']} failed: {', '.join(failed)}"
                )
    except asyncio.CancelledError:
        # Ctrl+C in the shell or a cancelled TUI worker: leave the target as it was
        ctx.progress(f"sync {target.name}: cancelled at {step}; restoring backup {backup.id}")
        restore_error = await _try_restore(env, target, backup)
        if restore_error is None:
            await repo.set_status(target.id, "failed", f"cancelled at {step}; backup restored")
            await repo.update_sync_run(run_id, status="failed", error=f"{step}: cancelled")
        else:
            why = f"cancelled at {step}; restore failed: {restore_error}"
            await repo.set_status(target.id, "failed", why.splitlines()[0][:300])
            await repo.update_sync_run(run_id, status="failed", error=f"{step}: {why}")
        raise
    except Exception as exc:  # any failure, a bug included, must not leave a half-synced target
        if isinstance(exc, StepFailed):
            reason = str(exc)
        elif isinstance(exc, CommandError | OSError):
            reason = f"{step}: {exc}"
        else:
            reason = f"{step}: unexpected {type(exc).__name__}: {exc}"
        ctx.progress(f"sync {target.name}: FAILED at {step}; restoring backup {backup.id}")
        report: RestoreReport | None = None
        try:
            report = await restore_async(env, target, backup)
            restore_error = None
        except Exception as restore_exc:
            restore_error = _restore_failure(restore_exc)
        if restore_error is not None:
            # the failure that matters now is the failed restore: put it first
            reason = f"restore failed: {restore_error}; the sync had failed at {reason}"
        short = reason.splitlines()[0][:300]
        await repo.set_status(target.id, "failed", short)
        await repo.update_sync_run(run_id, status="failed", error=reason)
        return {
            "target": target.name,
            "result": "failed",
            "step": step,
            "error": reason,
            "sync_run_id": run_id,
            "backup_id": backup.id,
            "restored": report.to_dict() if report is not None else None,
            "restore_error": restore_error,
            "verification": verification,
            "changes": record,
        }
    version = dirty.label(env.head) if dirty else await src.describe(env.source)
    synced = {c for c in components if c != "code"} | ({"code"} if sync_plan.code else set())
    await repo.mark_components(target.id, synced, env.head, version, dirty is not None)
    for component, manifest in sync_plan.manifest.items():
        await repo.set_installed_files(target.id, component, manifest)
    rows = await repo.components(target.id)
    view = component_view(target, rows, env.head, bool(env.package.name))
    behind = stale_reason(view, env.head)
    if behind is None:
        await repo.mark_synced(target.id, env.head, version)
    else:
        await repo.mark_partial(target.id, version, behind)
    await repo.update_sync_run(run_id, status="succeeded", step="done")
    return {
        "target": target.name,
        "result": "synchronized",
        "components": view,
        "behind": behind,
        "dirty": dirty is not None,
        "sync_run_id": run_id,
        "backup_id": backup.id,
        "source_commit": env.head,
        "sync_version": version,
        "verification": verification,
        "changes": record,
    }
