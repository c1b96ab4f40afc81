"""Sync commands: ``sync detect|checklist|run|verify|rollback|status|docs|plans|rag``.

Declarations only; the engine (``opencode.commands.sync.engine``) and its git, pip and tomlkit
work are imported inside handlers, so that importing this module at CLI start-up stays cheap
(not to hide an import cycle: there is none, ``tests/sync/test_import_cycles.py`` checks it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from opencode.commands.registry import (
    Arg,
    CommandContext,
    CommandError,
    CommandResult,
    Table,
    command,
)

TARGET = Arg("target", positional=True, option="--target", help="the target's name")
TESTS = Arg(
    "tests",
    option="--tests",
    metavar="LIST",
    help="comma-separated: core,integration,agent,docs,feature,preflight (default: all)",
)
COMPONENTS = ("code", "docs", "plans", "rag", "config")
ALLOW_DIRTY = Arg(
    "allow_dirty",
    option="--allow-dirty",
    flag=True,
    help="sync uncommitted source changes (recorded as <sha>-dirty+<hash>, shown as behind)",
)

if TYPE_CHECKING:
    from opencode.commands.target.repo import Backup, TargetRepo


async def _targets(env: Any, args: dict[str, Any], all_key: str = "all_targets") -> list[Any]:
    from opencode.commands.sync.env import get_target

    if args.get("target") and args.get(all_key):
        raise CommandError(
            "give a target (NAME or --target NAME) or --all-targets, not both", exit_code=2
        )
    if not args.get("target") and not args.get(all_key):
        raise CommandError(
            "which target? give its NAME (see `target list`) or --all-targets", exit_code=2
        )
    if args.get(all_key):
        targets = await env.repo.all()
        if not targets:
            raise CommandError("no targets registered; add one with `opencode target add`")
        return list(targets)
    return [await get_target(env.repo, args["target"])]


async def _oldest_synced(source: Path, commits: list[str]) -> str:
    """The commit every target's changes start after: the synced commit that is an ancestor of
    all others or, when they lie on branches merged later, their common merge base."""
    from opencode.commands.sync import source as src

    for commit in commits:
        for other in commits:
            if not await src.is_ancestor(source, commit, other):
                break
        else:
            return commit
    try:
        return (await src.git(source, "merge-base", "--octopus", *commits)).strip()
    except CommandError as exc:
        raise CommandError(
            f"the commits targets were synced to ({', '.join(c[:12] for c in commits)}) have no "
            f"common ancestor in {source}; give --since REV",
            exit_code=2,
        ) from exc


@command(
    "sync",
    "detect",
    help="changes in the source since a revision, by category and priority",
    args=[
        Arg(
            "since",
            option="--since",
            metavar="REV",
            help="a commit, tag or branch (default: the oldest commit a target was synced to)",
        )
    ],
)
async def sync_detect(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.sync import source as src
    from opencode.commands.sync.env import open_env
    from opencode.commands.sync.status import persist_statuses, target_states

    env = await open_env(ctx)
    since = args.get("since")
    if not since:
        # every component's commit: a docs-only sync must not hide stale code
        synced = sorted(
            {
                c["sync_commit"]
                for state in await target_states(env.repo, env.head, bool(env.package.name))
                for c in state.components.values()
                if c["sync_commit"]
            }
        )
        if not synced:
            raise CommandError("no target has been synced yet: give --since REV", exit_code=2)
        candidates = [c for c in synced if await src.is_ancestor(env.source, c, env.head)]
        if not candidates:
            raise CommandError(
                f"the commits targets were synced to ({', '.join(c[:12] for c in synced)}) are "
                f"not in the history of HEAD {env.head[:12]} (rebased or reset?); "
                "give --since REV",
                exit_code=2,
            )
        since = await _oldest_synced(env.source, candidates)
    resolved = await src.resolve_rev(env.source, since)
    records = await src.detect_changes(env.settings, resolved)
    # detect is where a new source HEAD becomes needs_sync on record (status only shows it)
    changed = await persist_statuses(env.repo, env.head, bool(env.package.name))
    rows = [
        [
            r.category,
            r.priority,
            len(r.files),
            ", ".join(f.path for f in r.files[:4]) + (" …" if len(r.files) > 4 else ""),
        ]
        for r in records
    ]
    return CommandResult(
        data={
            "source": str(env.source),
            "source_head": env.head,
            "since": resolved,
            "changes": [r.to_dict() for r in records],
            "requires_sync": bool(records),
        },
        tables=[Table(["category", "priority", "files", "paths"], rows)] if records else [],
        text=None if records else f"No changes since {since}: nothing to sync.",
        changed=frozenset({"target"}) if changed else frozenset(),
    )


@command(
    "sync",
    "checklist",
    help="write the sync checklist (markdown) for a target",
    args=[
        TARGET,
        Arg(
            "since",
            option="--since",
            metavar="REV",
            help="default: the commit the target was last synced to",
        ),
        Arg(
            "output",
            option="--output",
            short="-o",
            metavar="FILE",
            help="where to write it (default: <data_dir>/checklists/NAME-<time>.md)",
        ),
    ],
)
async def sync_checklist(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    import time

    from opencode.commands.sync import checklist
    from opencode.commands.sync.engine import detect_since
    from opencode.commands.sync.env import get_target, open_env
    from opencode.commands.sync.source import describe

    if not args.get("target"):
        raise CommandError("give a target: NAME or --target NAME", exit_code=2)
    env = await open_env(ctx)
    target = await get_target(env.repo, args["target"])
    since, changes = await detect_since(env, target, args.get("since"))
    script = env.settings.cli or (env.package.scripts[0] if env.package.scripts else None)
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    text = checklist.render(
        target,
        f"{env.source} ({await describe(env.source)})",
        env.head,
        since,
        changes,
        script,
        created,
    )
    if args.get("output"):
        out = Path(args["output"]).expanduser()
        out = out if out.is_absolute() else ctx.cwd / out
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        out = ctx.config.data_dir / "checklists" / f"{target.name}-{stamp}.md"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write the checklist to {out}: {exc}") from exc
    return CommandResult(
        data={
            "target": target.name,
            "path": str(out),
            "since": since,
            "changes": [c.to_dict() for c in changes],
            "markdown": text,
        },
        text=f"{text}\n(written to {out})",
    )


async def _run_sync(
    ctx: CommandContext, args: dict[str, Any], components: set[str], kind: str, complete: bool
) -> CommandResult:
    from opencode.commands.sync.engine import sync_target
    from opencode.commands.sync.env import open_env
    from opencode.commands.sync.source import dirty_refusal, dirty_state
    from opencode.commands.sync.status import persist_statuses

    env = await open_env(ctx)
    # record what `sync status` shows (an interrupted run is a failed target) before acting
    await persist_statuses(env.repo, env.head, bool(env.package.name))
    targets = await _targets(env, args)
    dirty = await dirty_state(env.source)
    if dirty is not None and not args.get("allow_dirty"):
        raise CommandError(dirty_refusal(dirty, env.source), exit_code=2)
    if dirty is not None:
        ctx.progress(
            f"sync: installing uncommitted changes as {dirty.label(env.head)} (--allow-dirty)"
        )
    results = []
    for target in targets:
        try:
            outcome = await sync_target(
                env,
                target,
                components=components,
                kind=kind,
                complete=complete,
                verify=not args.get("no_verify") and kind == "full",
                tests=args.get("tests"),
                since=args.get("since"),
                dirty=dirty,
            )
        except CommandError as exc:
            if not args.get("all_targets"):
                raise
            # refused before anything was written (missing folder, bad config): go on
            outcome = {
                "target": target.name,
                "result": "failed",
                "step": "prepare",
                "error": str(exc),
                "backup_id": None,
                "restored": None,
                "changes": {},
            }
        results.append(outcome)
    failed = [r for r in results if r["result"] != "synchronized"]
    lines = []
    for r in results:
        copied = r["changes"].get("copied", {})
        summary = ", ".join(f"{n} {c}" for c, n in copied.items()) or "no files copied"
        if r["result"] == "synchronized":
            synced = "synced" if r.get("behind") else "synchronized"
            lines.append(
                f"{r['target']}: {synced} {kind} to {r['sync_version']} ({summary}; "
                f"backup {r['backup_id']})"
                if kind != "full"
                else f"{r['target']}: {synced} to {r['sync_version']} ({summary}; "
                f"backup {r['backup_id']})"
            )
            if r.get("behind"):
                lines.append(f"  not current: {r['behind']}")
        elif r.get("restore_error"):
            lines.append(
                f"{r['target']}: FAILED at {r['step']} and restoring backup {r['backup_id']} "
                f"failed too — {r['error'].splitlines()[0]}"
            )
        elif r["restored"] is None:
            lines.append(f"{r['target']}: FAILED before any change — {r['error']}")
        else:
            lines.append(
                f"{r['target']}: FAILED at {r['step']} — {r['error'].splitlines()[0]}; "
                f"restored backup {r['backup_id']} "
                f"({r['restored']['restored']} files rewritten, sha256 verified)"
            )
    data: Any = results if args.get("all_targets") else results[0]
    changed = {"target"} | (
        {"verification"} if any(r.get("verification") for r in results) else set()
    )
    return CommandResult(
        data=data, text="\n".join(lines), exit_code=1 if failed else 0, changed=frozenset(changed)
    )


@command(
    "sync",
    "run",
    help="synchronize targets: backup, code, docs/plans/RAG, config, verify (rollback on failure)",
    args=[
        TARGET,
        Arg("all_targets", option="--all-targets", flag=True, help="every registered target"),
        TESTS,
        Arg("no_verify", option="--no-verify", flag=True, help="skip verification"),
        Arg(
            "since",
            option="--since",
            metavar="REV",
            help="detect changes since REV (default: the target's last synced commit)",
        ),
        Arg(
            "complete",
            option="--complete",
            flag=True,
            help="copy every doc/plan/RAG file, not only those whose hash differs",
        ),
        ALLOW_DIRTY,
    ],
)
async def sync_run(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    return await _run_sync(ctx, args, set(COMPONENTS), "full", bool(args.get("complete")))


def _doc_command(component: str, folder: str) -> None:
    extra = (
        [
            Arg(
                "categories",
                option="--categories",
                metavar="LIST",
                help="comma-separated docs,plans,rag: copy these folders (default: docs)",
            )
        ]
        if component == "docs"
        else []
    )

    @command(
        "sync",
        component,
        help=f"copy the source's {folder}/ into a target (changed files; --complete: all)",
        args=[
            TARGET,
            Arg("all_targets", option="--all-targets", flag=True, help="every target"),
            Arg("complete", option="--complete", flag=True, help="copy every file"),
            ALLOW_DIRTY,
            *extra,
        ],
    )
    async def handler(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
        chosen = {component}
        if args.get("categories"):
            chosen = {w.strip().lower() for w in args["categories"].split(",") if w.strip()}
            unknown = chosen - {"docs", "plans", "rag"}
            if unknown:
                raise CommandError(
                    f"unknown --categories {', '.join(sorted(unknown))}; use docs, plans, rag",
                    exit_code=2,
                )
        return await _run_sync(ctx, args, chosen, component, bool(args.get("complete")))


_doc_command("docs", "docs")
_doc_command("plans", "plans")
_doc_command("rag", "RAG")


@command(
    "sync",
    "config",
    help="merge the source's opencode.toml into a target's (--diff: only show the change)",
    args=[
        TARGET,
        Arg("all_targets", option="--all-targets", flag=True, help="every target"),
        Arg("diff", option="--diff", flag=True, help="show what would change; write nothing"),
        ALLOW_DIRTY,
    ],
)
async def sync_config(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    if not args.get("diff"):
        return await _run_sync(ctx, args, {"config"}, "config", False)
    import asyncio
    import difflib

    from opencode.commands.sync.configmerge import read_config
    from opencode.commands.sync.engine import plan
    from opencode.commands.sync.env import config_path, open_env

    env = await open_env(ctx)
    diffs = []
    for target in await _targets(env, args):
        planned = await asyncio.to_thread(plan, env, target, {"config"}, False)
        path = config_path(target)
        old = read_config(path) or ""
        new = planned.config.text if planned.config else old
        diff = "".join(
            difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True), str(path), str(path)
            )
        )
        diffs.append(
            {
                "target": target.name,
                "path": str(path),
                "added": planned.config.added if planned.config else [],
                "kept": planned.config.kept if planned.config else [],
                "diff": diff,
            }
        )
    text = "\n".join(d["diff"] or f"{d['target']}: {d['path']} is up to date" for d in diffs)
    return CommandResult(data=diffs if args.get("all_targets") else diffs[0], text=text)


@command(
    "sync",
    "verify",
    help="run the post-sync checklist as checks; exit 1 if any fails",
    aliases=[("target", "verify")],
    args=[
        TARGET,
        Arg("all_targets", option="--all-targets", flag=True, help="every target"),
        TESTS,
    ],
)
async def sync_verify(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.sync.env import check_target, open_env
    from opencode.commands.sync.verify import parse_categories, run_verification

    parse_categories(args.get("tests"))  # reject bad categories before any work
    env = await open_env(ctx)
    runs = []
    for target in await _targets(env, args):
        check_target(target)
        runs.append(await run_verification(env, target, args.get("tests")))
    tables = []
    for run in runs:
        rows = [
            [
                c["category"],
                c["name"],
                c["status"].upper(),
                c["duration_ms"],
                (c["output"].strip().splitlines() or [""])[-1][:80],
            ]
            for c in run["checks"]
        ]
        tables.append(
            Table(
                ["category", "check", "status", "ms", "output"],
                rows,
                title=f"Verification {run['id']} of {run['target']}: "
                f"{run['status'].upper()} ({run['passed']} passed, "
                f"{run['failed']} failed, {run['skipped']} skipped)",
            )
        )
    failed = any(r["status"] != "passed" for r in runs)
    return CommandResult(
        data=runs if args.get("all_targets") else runs[0],
        tables=tables,
        exit_code=1 if failed else 0,
        changed=frozenset({"verification"}),
    )


async def _rollback_backup(
    repo: TargetRepo, target_id: int, component: str | None
) -> Backup | None:
    """What undoes the last sync: the backup of a sync a crash left half-done, else of the newest
    succeeded sync (a failed one was restored already, so its backup is the current state),
    else the newest manual snapshot."""
    interrupted = await repo.interrupted_run(target_id)
    if interrupted is not None and interrupted["backup_id"] is not None:
        backup = await repo.backup(target_id, interrupted["backup_id"])
        if (
            backup is not None
            and backup.complete
            and (component is None or component in backup.components)
        ):
            return backup
    return await repo.last_good_sync_backup(target_id, component) or await repo.latest_backup(
        target_id, component, reason="manual"
    )


@command(
    "sync",
    "rollback",
    help="restore a target (or one component) from the backup taken before its last sync",
    aliases=[("target", "rollback")],
    args=[
        TARGET,
        Arg(
            "component",
            option="--component",
            choices=COMPONENTS,
            help="only this component (default: everything in the backup)",
        ),
        Arg(
            "backup",
            option="--backup",
            type=int,
            metavar="ID",
            help="a specific backup (default: the one taken by the last successful sync)",
        ),
    ],
)
async def sync_rollback(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.sync.engine import restore_async
    from opencode.commands.sync.env import get_target, open_env

    if not args.get("target"):
        raise CommandError("give a target: NAME or --target NAME", exit_code=2)
    env = await open_env(ctx, need_git=False)
    target = await get_target(env.repo, args["target"])
    component = args.get("component")
    if args.get("backup") is not None:
        backup = await env.repo.backup(target.id, args["backup"])
    else:
        backup = await _rollback_backup(env.repo, target.id, component)
    if backup is None:
        raise CommandError(
            f"no backup of {target.name}"
            + (f" covering {component}" if component else "")
            + f"; see `opencode target backups {target.name}`"
        )
    report = await restore_async(env, target, backup, {component} if component else None)
    await env.repo.close_interrupted(target.id, f"interrupted; rolled back to backup {backup.id}")
    await env.repo.set_status(
        target.id, "needs_sync", f"rolled back {component or 'everything'} to backup {backup.id}"
    )
    return CommandResult(
        data={
            "target": target.name,
            "backup_id": backup.id,
            "component": component,
            **report.to_dict(),
        },
        text=f"Rolled back {component or 'all components'} of {target.name} to backup "
        f"{backup.id}: {len(report.restored)} file(s) restored, {len(report.unchanged)} already "
        f"identical (all sha256 verified), {len(report.removed)} removed",
        changed=frozenset({"target"}),
    )


def _component_word(component: str, state: dict[str, Any]) -> str:
    if state["sync_commit"] is None:
        return f"{component} (never)"
    if state["dirty"]:
        return f"{component} (dirty {state['sync_version']})"
    return f"{component} ({state['sync_version']})"


@command("sync", "status", help="every target: status, last sync, version vs source HEAD")
async def sync_status(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    """Read-only: the status shown is computed from the source HEAD and the sync runs, never
    written (the TUI reloads this on every panel refresh)."""
    from opencode.commands.sync.env import open_env
    from opencode.commands.sync.source import describe
    from opencode.commands.sync.status import target_states
    from opencode.commands.verify.repo import VerificationRepo

    env = await open_env(ctx)
    verifications = VerificationRepo(ctx.store)
    rows, targets = [], []
    for state in await target_states(env.repo, env.head, bool(env.package.name)):
        t = state.target
        last = await verifications.last_verification(t.id)
        stale = [c for c, v in state.components.items() if not v["current"]]
        behind = t.sync_commit != env.head or bool(stale)
        entry = t.to_dict()
        entry["components"] = state.components
        entry["stale_components"] = stale
        entry["status"] = state.status
        entry["status_reason"] = state.reason
        entry["behind"] = behind
        entry["last_verification"] = last
        entry["interrupted_run"] = state.interrupted
        targets.append(entry)
        rows.append(
            [
                t.name,
                state.status,
                t.last_sync,
                t.sync_version,
                ("behind: " + ", ".join(_component_word(c, state.components[c]) for c in stale))
                if stale
                else ("behind" if behind else "current"),
                f"{last['status']} ({last['passed']}/{last['passed'] + last['failed']})"
                if last
                else None,
            ]
        )
    head_label = await describe(env.source)
    return CommandResult(
        data={
            "source": str(env.source),
            "source_head": env.head,
            "source_version": head_label,
            "targets": targets,
        },
        tables=[
            Table(
                ["target", "status", "last sync", "version", "vs HEAD", "verification"],
                rows,
                title=f"Source {env.source} at {head_label}",
            )
        ]
        if rows
        else [],
        text=None if rows else f"Source {env.source} at {head_label}; no targets registered.",
    )


@command(
    "sync",
    "show",
    help="one sync run: its steps, error and the full pip output",
    args=[Arg("run", positional=True, type=int, metavar="RUN", help="the sync run's id")],
)
async def sync_show(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.target.repo import TargetRepo

    run = await TargetRepo(ctx.store).sync_run(int(args["run"]))
    if run is None:
        raise CommandError(
            f"no sync run {args['run']}: a failed sync names its run id in its error"
        )
    head = (
        f"sync run {run['id']} of {run['target']} ({run['kind']}): {run['status']} at step "
        f"{run['step']}, started {run['started_at']}, finished {run['finished_at'] or '-'}"
    )
    parts = [head]
    if run["error"]:
        parts.append(f"error: {run['error']}")
    if run["log"]:
        parts.append("full pip output:\n" + run["log"])
    return CommandResult(data=run, text="\n".join(parts))


# -- the seed's names: `config diff|sync` ------------------------------------------------------


@command(
    "config",
    "diff",
    help="what `config sync` would change in a target's opencode.toml (same as sync config --diff)",
    args=[TARGET, Arg("all_targets", option="--all-targets", flag=True, help="every target")],
)
async def config_diff(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    return await sync_config(ctx, {**args, "diff": True})


@command(
    "config",
    "sync",
    help="merge the source's opencode.toml into a target's (same as `sync config`)",
    args=[
        TARGET,
        Arg("all_targets", option="--all-targets", flag=True, help="every target"),
        ALLOW_DIRTY,
    ],
)
async def config_sync(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    return await sync_config(ctx, {**args, "diff": False})


# -- pre-push check ----------------------------------------------------------------------------

SKIP_PREPUSH_ENV = "OPENCODE_SKIP_PREPUSH"
HOOK_MARKER = "# opencode pre-push hook (opencode sync install-hook)"


@command(
    "sync",
    "prepush",
    help="exit 1 while any target is behind the source HEAD, listing them (git pre-push hook)",
)
async def sync_prepush(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    import os

    from opencode.commands.sync.env import open_env
    from opencode.commands.sync.status import target_states

    if os.environ.get(SKIP_PREPUSH_ENV) == "1":
        return CommandResult(
            data={"skipped": True, "behind": []},
            text=f"opencode pre-push check skipped ({SKIP_PREPUSH_ENV}=1)",
        )
    env = await open_env(ctx)
    behind = []
    for state in await target_states(env.repo, env.head, bool(env.package.name)):
        stale = [c for c, v in state.components.items() if not v["current"]]
        if state.status != "synchronized" or stale:
            behind.append(
                {
                    "target": state.target.name,
                    "status": state.status,
                    "reason": state.reason,
                    "stale_components": stale,
                }
            )
    if not behind:
        return CommandResult(
            data={"skipped": False, "behind": []},
            text=f"every target is synchronized with {env.head[:12]}",
        )
    lines = [f"{len(behind)} target(s) behind the source HEAD {env.head[:12]}:"]
    lines += [f"  {b['target']}: {b['status']} — {b['reason'] or ''}".rstrip(" —") for b in behind]
    lines.append(
        "sync them (`opencode sync run --all-targets`), or push anyway with "
        f"`git push --no-verify` or `{SKIP_PREPUSH_ENV}=1 git push`"
    )
    return CommandResult(
        data={"skipped": False, "behind": behind}, text="\n".join(lines), exit_code=1
    )


def hook_text(python: str) -> str:
    import shlex

    return (
        "#!/bin/sh\n"
        f"{HOOK_MARKER}\n"
        "# Refuses a push while a registered target is behind the source HEAD.\n"
        f"# Bypass: git push --no-verify, or {SKIP_PREPUSH_ENV}=1 git push\n"
        f'if [ "${{{SKIP_PREPUSH_ENV}:-}}" = "1" ]; then exit 0; fi\n'
        f"exec {shlex.quote(python)} -m opencode sync prepush\n"
    )


@command(
    "sync",
    "install-hook",
    help="install a git pre-push hook in the source that runs `opencode sync prepush`",
    args=[
        Arg(
            "force",
            option="--force",
            flag=True,
            help="replace a pre-push hook that opencode did not write (kept as pre-push.bak)",
        )
    ],
)
async def sync_install_hook(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    import os
    import sys

    from opencode.commands.sync import source as src
    from opencode.commands.sync.env import open_env

    env = await open_env(ctx)
    hooks = Path((await src.git(env.source, "rev-parse", "--git-path", "hooks")).strip())
    hooks = hooks if hooks.is_absolute() else env.source / hooks
    path = hooks / "pre-push"
    backup = None
    if path.exists():
        existing = path.read_text(encoding="utf-8", errors="replace")
        if HOOK_MARKER not in existing:
            if not args.get("force"):
                raise CommandError(
                    f"{path} exists and was not written by opencode; add "
                    f"`{sys.executable} -m opencode sync prepush` to it yourself, or pass "
                    "--force to replace it (the old one is kept as pre-push.bak)",
                    exit_code=2,
                )
            backup = hooks / "pre-push.bak"
            os.replace(path, backup)
    try:
        hooks.mkdir(parents=True, exist_ok=True)
        path.write_text(hook_text(sys.executable), encoding="utf-8")
        path.chmod(0o755)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc}") from exc
    return CommandResult(
        data={"path": str(path), "replaced": str(backup) if backup else None},
        text=f"Installed {path}: `git push` now runs `opencode sync prepush`; bypass with "
        f"`git push --no-verify` or `{SKIP_PREPUSH_ENV}=1 git push`"
        + (f" (the previous hook is {backup})" if backup else ""),
    )
