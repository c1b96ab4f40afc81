"""Target registry commands: ``target list|add|remove|update|backup|backups|restore|tag``.

Declarations only; the work is in ``opencode.commands.target.repo`` and
``opencode.commands.sync.*``, imported inside handlers so the CLI starts fast.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from opencode.commands.registry import (
    Arg,
    CommandContext,
    CommandError,
    CommandResult,
    Table,
    command,
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# Files or folders that make a folder a project worth syncing into.
PROJECT_MARKERS = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "requirements.txt",
    "opencode.toml",
    ".git",
    ".venv",
    "venv",
    "python_embeded",
)
# Where a target's own interpreter usually is, tried in order when --python is not given.
PYTHON_GUESSES = (
    ".venv/bin/python",
    "venv/bin/python",
    "python_embeded/python.exe",
    ".venv/Scripts/python.exe",
    "venv/Scripts/python.exe",
)
STATUS_CHOICES = ("synchronized", "needs_sync", "failed", "unknown")
TARGET_ARG = Arg(
    "name", positional=True, option="--target", required=True, help="the target's name"
)


def _rows(targets: list[Any]) -> list[list[Any]]:
    return [[t.name, t.type, t.status, t.last_sync, t.sync_version, t.path] for t in targets]


def _is_project(path: Path) -> bool:
    if any((path / marker).exists() for marker in PROJECT_MARKERS):
        return True
    return any(p.suffix == ".py" for p in path.iterdir() if p.is_file())


@command("target", "list", help="list registered target projects")
async def target_list(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.target.repo import TargetRepo

    targets = await TargetRepo(ctx.store).all()
    return CommandResult(
        data=[t.to_dict() for t in targets],
        tables=[Table(["name", "type", "status", "last sync", "version", "path"], _rows(targets))]
        if targets
        else [],
        text=None
        if targets
        else "No targets yet. Add one with "
        "`opencode target add NAME --path P --type site-packages|source`.",
    )


@command(
    "target",
    "add",
    help="register a target project",
    args=[
        Arg("name", positional=True, required=True, help="a short name (letters, digits, ._-)"),
        Arg("path", option="--path", required=True, help="the target project's folder"),
        Arg(
            "type",
            option="--type",
            required=True,
            choices=("site-packages", "source"),
            help="site-packages: installed into the target's Python; source: editable install",
        ),
        Arg(
            "python",
            option="--python",
            help="the target's Python (default: .venv/bin/python "
            "or venv/bin/python inside the target, if present)",
        ),
        Arg(
            "test_command",
            option="--test-command",
            metavar="CMD",
            help="the target's own test command, run by `sync verify` (feature tests)",
        ),
    ],
)
async def target_add(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.target.repo import TargetRepo

    name: str = args["name"]
    if not _NAME.match(name):
        raise CommandError(f"target name {name!r} must be letters, digits, '.', '_' or '-'")
    path = Path(os.path.expanduser(args["path"]))
    path = (path if path.is_absolute() else ctx.cwd / path).resolve()
    if not path.exists():
        raise CommandError(
            f"target path {path} does not exist; create the project first or fix --path"
        )
    if not path.is_dir():
        raise CommandError(f"target path {path} is a file, not a project folder")
    if not _is_project(path):
        raise CommandError(
            f"{path} does not look like a project: none of {', '.join(PROJECT_MARKERS)} "
            "and no .py files in it; point --path at the project's root folder"
        )
    python: str | None = args.get("python")
    if python:
        candidate = Path(os.path.expanduser(python))
        # absolute() and not resolve(): a venv's python is a symlink that must stay in the venv
        candidate = candidate if candidate.is_absolute() else (ctx.cwd / candidate).absolute()
        if not candidate.is_file() or not os.access(candidate, os.X_OK):
            raise CommandError(f"--python {candidate} does not exist or is not executable")
        python = str(candidate)
    else:
        for guess in PYTHON_GUESSES:
            if (path / guess).is_file():
                python = str(path / guess)
                break
    if args["type"] == "site-packages" and not python:
        raise CommandError(
            f"a site-packages target needs its Python: none of {', '.join(PYTHON_GUESSES)} in "
            f"{path}; give --python PATH"
        )
    repo = TargetRepo(ctx.store)
    if await repo.get(name):
        raise CommandError(
            f"a target named {name!r} already exists; remove it first or pick another name"
        )
    target = await repo.add(name, str(path), args["type"], python, args.get("test_command"))
    return CommandResult(
        data=target.to_dict(),
        text=f"Added target {name} ({target.type}) at {path}"
        + (f", python {python}" if python else ""),
        changed=frozenset({"target"}),
    )


@command(
    "target", "remove", help="unregister a target (its files are left alone)", args=[TARGET_ARG]
)
async def target_remove(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    import asyncio
    import shutil

    from opencode.commands.sync.backup import backups_root
    from opencode.commands.target.repo import TargetRepo

    repo = TargetRepo(ctx.store)
    target = await repo.get(args["name"])
    if target is None or not await repo.remove(args["name"]):
        raise CommandError(f"no target named {args['name']!r}; see `opencode target list`")
    # its backup rows went with it: the blobs could never be restored again, so they go too
    folder = backups_root(ctx.config.data_dir, target)
    had_backups = folder.is_dir()
    await asyncio.to_thread(shutil.rmtree, folder, True)
    return CommandResult(
        data={"removed": args["name"], "backups_deleted": str(folder) if had_backups else None},
        text=f"Removed target {args['name']}"
        + (f" and its backups ({folder})" if had_backups else ""),
        changed=frozenset({"target"}),
    )


@command(
    "target",
    "update",
    help="set a target's status by hand",
    args=[
        TARGET_ARG,
        Arg(
            "status",
            option="--status",
            required=True,
            choices=STATUS_CHOICES,
            help="the new status",
        ),
    ],
)
async def target_update(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.sync.env import get_target
    from opencode.commands.target.repo import TargetRepo

    repo = TargetRepo(ctx.store)
    target = await get_target(repo, args["name"])
    await repo.set_status(target.id, args["status"], "set by hand")
    updated = await repo.get(target.name)
    assert updated is not None
    return CommandResult(
        data=updated.to_dict(),
        text=f"{target.name}: {args['status']}",
        changed=frozenset({"target"}),
    )


@command(
    "target", "backup", help="back up a target (code, docs, plans, RAG, config)", args=[TARGET_ARG]
)
async def target_backup(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.sync.engine import snapshot_backup
    from opencode.commands.sync.env import get_target, open_env

    env = await open_env(ctx, need_git=False)
    target = await get_target(env.repo, args["name"])
    backup = await snapshot_backup(env, target)
    return CommandResult(
        data=backup.to_dict(),
        text=f"Backup {backup.id} of {target.name}: {backup.file_count} files, "
        f"{backup.total_bytes} bytes, in {backup.dir}/{backup.id}",
        changed=frozenset({"target"}),
    )


@command("target", "backups", help="list a target's backups", args=[TARGET_ARG])
async def target_backups(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.sync.env import get_target
    from opencode.commands.target.repo import TargetRepo

    repo = TargetRepo(ctx.store)
    target = await get_target(repo, args["name"])
    backups = await repo.backups(target.id)
    rows = [
        [
            b.id,
            b.created_at,
            b.reason,
            b.file_count,
            b.total_bytes,
            ",".join(b.components),
            "yes" if b.complete else "NO",
        ]
        for b in backups
    ]
    return CommandResult(
        data=[b.to_dict() for b in backups],
        tables=[
            Table(["id", "created", "reason", "files", "bytes", "components", "complete"], rows)
        ]
        if backups
        else [],
        text=None
        if backups
        else f"No backups of {target.name} yet (`opencode target backup {target.name}`).",
    )


@command(
    "target",
    "restore",
    help="restore a target from a backup (default: the latest), byte for byte",
    args=[
        TARGET_ARG,
        Arg(
            "backup",
            option="--backup",
            type=int,
            metavar="ID",
            help="backup id from `target backups NAME`",
        ),
    ],
)
async def target_restore(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.sync.engine import restore_async
    from opencode.commands.sync.env import get_target, open_env

    env = await open_env(ctx, need_git=False)
    target = await get_target(env.repo, args["name"])
    if args.get("backup") is not None:
        backup = await env.repo.backup(target.id, args["backup"])
        if backup is None:
            raise CommandError(
                f"no backup {args['backup']} for target {target.name}; see "
                f"`opencode target backups {target.name}`"
            )
    else:
        backup = await env.repo.latest_backup(target.id)
        if backup is None:
            raise CommandError(f"target {target.name} has no complete backup to restore")
    report = await restore_async(env, target, backup)
    await env.repo.close_interrupted(target.id, f"interrupted; restored backup {backup.id}")
    await env.repo.set_status(target.id, "needs_sync", f"restored from backup {backup.id}")
    return CommandResult(
        data={"target": target.name, "backup_id": backup.id, **report.to_dict()},
        text=f"Restored {target.name} from backup {backup.id}: {len(report.restored)} file(s) "
        f"written, {len(report.unchanged)} already identical (all sha256 verified), "
        f"{len(report.removed)} removed",
        changed=frozenset({"target"}),
    )


@command(
    "target",
    "tag",
    help="label synchronized targets with a release version",
    args=[
        Arg("name", positional=True, help="the target (or --all)"),
        Arg("all", option="--all", flag=True, help="every synchronized target"),
        Arg("version", option="--version", required=True, help="e.g. v1.2.3"),
    ],
)
async def target_tag(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.sync.env import get_target
    from opencode.commands.target.repo import TargetRepo

    repo = TargetRepo(ctx.store)
    if bool(args.get("name")) == bool(args.get("all")):
        raise CommandError("give a target NAME or --all (not both)", exit_code=2)
    if args.get("all"):
        targets = await repo.all()
    else:
        targets = [await get_target(repo, args["name"])]
    tagged, skipped = [], []
    for target in targets:
        if target.status != "synchronized":
            if not args.get("all"):
                raise CommandError(
                    f"target {target.name} is {target.status}, not synchronized; "
                    f"sync it first (`opencode sync run --target {target.name}`)"
                )
            skipped.append(target.name)
            continue
        await repo.set_version(target.id, args["version"])
        tagged.append(target.name)
    text = f"Tagged {', '.join(tagged) or 'nothing'} as {args['version']}"
    if skipped:
        text += f"; skipped (not synchronized): {', '.join(skipped)}"
    return CommandResult(
        data={"version": args["version"], "tagged": tagged, "skipped": skipped},
        text=text,
        changed=frozenset({"target"}),
    )


@command(
    "target",
    "import",
    help='read a target registry JSON file ({"targets": [...]}); known names are updated',
    args=[Arg("file", positional=True, required=True, help="the registry .json file")],
)
async def target_import(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.target.registry_json import (
        RegistryError,
        import_registry,
        parse_registry,
    )

    path = Path(os.path.expanduser(args["file"]))
    path = path if path.is_absolute() else ctx.cwd / path
    try:
        entries, warnings = parse_registry(path.read_text(encoding="utf-8"), ctx.cwd)
    except FileNotFoundError as exc:
        raise CommandError(f"registry file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read registry file {path}: {exc}") from exc
    except RegistryError as exc:
        raise CommandError(
            f"{path} is not a usable target registry (nothing imported):\n  "
            + "\n  ".join(exc.problems)
        ) from exc
    report = await import_registry(ctx.store, entries)
    lines = [f"imported {path}: {len(report.created)} new, {len(report.updated)} updated"]
    return CommandResult(
        data={
            "file": str(path),
            "created": report.created,
            "updated": report.updated,
            "warnings": warnings,
        },
        text="\n".join(lines + [f"warning: {w}" for w in warnings]),
        changed=frozenset({"target"}),
    )


@command(
    "target",
    "export",
    help="write the target registry as JSON (stdout or --output FILE)",
    args=[Arg("output", option="--output", short="-o", help="write to this file")],
)
async def target_export(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.target.registry_json import export_registry

    text = await export_registry(ctx.store, ctx.cwd)
    if not args.get("output"):
        return CommandResult(data=json.loads(text), text=text.rstrip("\n"))
    path = Path(os.path.expanduser(args["output"]))
    path = path if path.is_absolute() else ctx.cwd / path
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}") from exc
    count = len(json.loads(text)["targets"])
    return CommandResult(
        data={"path": str(path), "targets": count}, text=f"exported {count} targets to {path}"
    )


# -- backup retention (target prune) -----------------------------------------------------------


@command(
    "target",
    "prune",
    help="delete a target's oldest backups, keeping the newest N ([sync] keep_backups)",
    args=[
        TARGET_ARG,
        Arg(
            "keep",
            option="--keep",
            type=int,
            metavar="N",
            help="backups to keep (default: [sync] keep_backups, 10)",
        ),
    ],
)
async def target_prune(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.sync.backup import prune_backups
    from opencode.commands.sync.env import get_target, open_env

    env = await open_env(ctx, need_git=False)
    target = await get_target(env.repo, args["name"])
    keep = args.get("keep")
    keep = env.settings.keep_backups if keep is None else keep
    if keep < 0:
        raise CommandError(f"--keep {keep}: give a number of backups >= 0", exit_code=2)
    pruned, kept = await prune_backups(env.repo, target, keep)
    text = f"{target.name}: deleted {len(pruned)} backup(s)" + (
        f" ({', '.join(str(i) for i in pruned)})" if pruned else ""
    )
    text += f"; kept {len(kept)}"
    return CommandResult(
        data={"target": target.name, "keep": keep, "deleted": pruned, "kept": kept},
        text=text,
        changed=frozenset({"target"}),
    )
