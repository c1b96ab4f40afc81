"""Backlog commands: ``backlog list|show|add|update|done|check|groom|import|export|sync``.

Declared once for the shell (``opencode backlog list --status ready``) and the chat
(``/backlog list --status ready``). This module is imported at CLI start-up, so it imports
only the registry; the domain modules load inside the handlers. Every ID argument takes the
numeric id or the external key (``Task-013``).

Config (``[backlog]`` in opencode.toml): ``file`` (default for ``backlog import``),
``sync_state`` and ``sync_report`` (where ``backlog sync`` writes its JSON state and markdown
report; default ``<data_dir>/backlog/sync-state.json`` and ``sync-report.md``).
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

if TYPE_CHECKING:
    from opencode.commands.backlog.model import BacklogItem
    from opencode.commands.backlog.repo import BacklogRepo

# Kept literal (not imported from model) so that importing this module stays cheap.
STATUS_CHOICES = (
    "in_progress",
    "ready",
    "ready_soon",
    "needs_decision",
    "optimization",
    "done",
    "deferred",
    "archived",
)
PRIORITY_CHOICES = ("critical", "high", "medium", "low")
CHANGED = frozenset({"backlog"})

_ID = Arg("id", positional=True, required=True, help="item id or key (12, Task-013)")
_FIELD_ARGS = [
    Arg("key", option="--key", help="external key, e.g. Task-014"),
    Arg("one_liner", option="--one-liner", help="one-line summary"),
    Arg("priority", option="--priority", help="critical|high|medium|low, optionally '(why)'"),
    Arg("effort", option="--effort", help="e.g. 'Small (1-2 hours)'"),
    Arg("risk", option="--risk", help="e.g. 'Low (isolated refactoring)'"),
    Arg("status", option="--status", choices=STATUS_CHOICES, help="status"),
    Arg("source", option="--source", help="where the task came from"),
    Arg("files", option="--file", multiple=True, help="a file to modify (repeat; replaces list)"),
    Arg(
        "criteria",
        option="--criterion",
        multiple=True,
        help="an acceptance criterion (repeat; replaces list)",
    ),
    Arg("blockers", option="--blocker", multiple=True, help="a blocker (repeat; replaces list)"),
    Arg(
        "dependencies",
        option="--dependency",
        multiple=True,
        help="a dependency (repeat; replaces list)",
    ),
    Arg("notes", option="--notes", help="notes (markdown)"),
    Arg("number", option="--number", type=int, help="position number shown as '### N.'"),
]


def _repo(ctx: CommandContext) -> BacklogRepo:
    from opencode.commands.backlog.repo import BacklogRepo

    return BacklogRepo(ctx.store)


async def _get(repo: BacklogRepo, ref: str) -> BacklogItem:
    item = await repo.get(ref)
    if item is None:
        raise CommandError(
            f"no backlog item {ref!r} (give its id or key); see `opencode backlog list`"
        )
    return item


def _path(ctx: CommandContext, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else ctx.cwd / path


def _item_text(item: BacklogItem) -> str:
    from opencode.commands.backlog.exporter import item_block

    status = f"status: {item.status}" + (
        f" (completed {item.completed_on})" if item.completed_on else ""
    )
    return f"#{item.id}  {status}\n\n" + "\n".join(item_block(item))


def _priority_text(value: str) -> str:
    word, _, rest = value.strip().partition(" ")
    if word.lower() in PRIORITY_CHOICES:
        return word.capitalize() + (f" {rest.strip()}" if rest.strip() else "")
    return value.strip()


def _apply_fields(item: BacklogItem, args: dict[str, Any]) -> list[str]:
    from opencode.commands.backlog.model import Criterion

    changed = []
    for name in ("key", "one_liner", "effort", "risk", "source", "notes", "number", "title"):
        value = args.get(name)
        if value is not None:
            if name == "title" and isinstance(value, list):
                value = " ".join(value)
            setattr(item, name, value if value != "" or name != "key" else None)
            changed.append(name)
    if args.get("priority") is not None:
        item.priority = _priority_text(args["priority"])
        changed.append("priority")
    if args.get("status") is not None:
        item.status = args["status"]
        changed.append("status")
    for name in ("files", "blockers", "dependencies"):
        if args.get(name) is not None:
            setattr(item, name, [v for v in args[name] if v.strip()])
            changed.append(name)
    if args.get("criteria") is not None:
        item.criteria = [Criterion(text) for text in args["criteria"] if text.strip()]
        changed.append("criteria")
    return changed


def _check_key(value: str | None) -> None:
    from opencode.commands.backlog.model import valid_key

    if value and not valid_key(value):
        raise CommandError(
            f"key {value!r} is not of the form Word-NNN (e.g. Task-014) or #NNN (an issue); "
            "commits and tests name items by it",
            exit_code=2,
        )


async def _save(repo: BacklogRepo, item: BacklogItem, new: bool = False) -> BacklogItem:
    import sqlite3

    try:
        return await (repo.insert(item) if new else repo.save(item))
    except sqlite3.IntegrityError as exc:
        if "key" in str(exc):
            raise CommandError(
                f"key {item.key} is already used by another item; pick another with --key"
            ) from exc
        raise


@command(
    "backlog",
    "list",
    help="list backlog items (filter by --status, --priority)",
    args=[
        Arg(
            "status",
            option="--status",
            choices=(*STATUS_CHOICES, "open"),
            help="only this status ('open': not done/deferred/archived)",
        ),
        Arg("priority", option="--priority", choices=PRIORITY_CHOICES, help="only this priority"),
    ],
)
async def backlog_list(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    items = await _repo(ctx).list_items(args.get("status"), args.get("priority"))
    rows = [
        [
            item.id,
            item.key or "",
            item.status,
            item.to_dict()["priority"] or "",
            item.effort.split(" (")[0],
            f"{sum(c.done for c in item.criteria)}/{len(item.criteria)}" if item.criteria else "",
            item.title,
        ]
        for item in items
    ]
    text = None
    if not items:
        text = (
            "No backlog items match."
            if args.get("status") or args.get("priority")
            else "The backlog is empty: `opencode backlog import FILE.md` or "
            "`opencode backlog add TITLE`."
        )
    columns = ["id", "key", "status", "priority", "effort", "criteria", "title"]
    return CommandResult(
        data=[item.to_dict() for item in items],
        tables=[Table(columns, rows)] if items else [],
        text=text,
    )


@command("backlog", "show", help="show one backlog item", args=[_ID])
async def backlog_show(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    item = await _get(_repo(ctx), args["id"])
    return CommandResult(data=item.to_dict(), text=_item_text(item))


@command(
    "backlog",
    "add",
    help="add a backlog item (a key Task-NNN is assigned unless --key is given)",
    args=[Arg("title", positional=True, required=True, multiple=True, help="title"), *_FIELD_ARGS],
)
async def backlog_add(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.backlog.model import BacklogItem

    repo = _repo(ctx)
    title = " ".join(args["title"]).strip()
    if not title:
        raise CommandError("the title is empty; give one: backlog add 'Fix the parser'", 2)
    _check_key(args.get("key"))
    if args.get("status") == "done":
        raise CommandError(
            "a new item cannot start done: add it, then `backlog done ID --evidence`"
        )
    item = BacklogItem(title=title)
    _apply_fields(item, {k: v for k, v in args.items() if k != "title"})
    item.key = item.key or await repo.next_key()
    await _save(repo, item, new=True)
    return CommandResult(
        data=item.to_dict(), text=f"added #{item.id} {item.key}: {item.title}", changed=CHANGED
    )


@command(
    "backlog",
    "update",
    help="change fields of a backlog item (--title, --priority, --status, ...)",
    args=[
        _ID,
        Arg("title", option="--title", help="new title"),
        *_FIELD_ARGS,
        Arg("evidence", option="--evidence", multiple=True, help="evidence to record (repeat)"),
    ],
)
async def backlog_update(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    repo = _repo(ctx)
    item = await _get(repo, args["id"])
    _check_key(args.get("key"))
    changed = _apply_fields(item, {k: v for k, v in args.items() if k != "id"})
    for line in args.get("evidence") or []:
        if line.strip() and line not in item.evidence:
            item.evidence.append(line.strip())
            if "evidence" not in changed:
                changed.append("evidence")
    if not changed:
        raise CommandError(
            "nothing to change: give a field, e.g. --priority high or --status ready_soon", 2
        )
    if item.status == "done" and not item.evidence:
        raise CommandError(
            f"{item.ref} cannot be marked done without evidence: add --evidence TEXT "
            "(a commit, a test, a path)"
        )
    if item.status == "done" and not item.completed_on:
        import time

        item.completed_on = time.strftime("%Y-%m-%d", time.gmtime())
    await _save(repo, item)
    return CommandResult(
        data=item.to_dict(),
        text=f"updated {item.ref} ({', '.join(changed)})",
        changed=CHANGED,
    )


@command(
    "backlog",
    "done",
    help="mark an item done, recording the evidence",
    args=[
        _ID,
        Arg(
            "evidence",
            option="--evidence",
            multiple=True,
            required=True,
            help="what shows it is done: a commit, a test, a path (repeat)",
        ),
    ],
)
async def backlog_done(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    import time

    repo = _repo(ctx)
    item = await _get(repo, args["id"])
    evidence = [e.strip() for e in args.get("evidence") or [] if e.strip()]
    if not evidence:
        raise CommandError("--evidence is empty: say what shows the task is done", 2)
    item.evidence += [e for e in evidence if e not in item.evidence]
    item.status = "done"
    item.completed_on = time.strftime("%Y-%m-%d", time.gmtime())
    await _save(repo, item)
    open_criteria = [c.text for c in item.criteria if not c.done]
    text = f"{item.ref} done: {item.title}"
    if open_criteria:
        text += f"\nnote: {len(open_criteria)} acceptance criteria are not ticked"
    return CommandResult(data=item.to_dict(), text=text, changed=CHANGED)


@command(
    "backlog",
    "check",
    help="tick acceptance criterion N of an item (--undo to untick)",
    args=[
        _ID,
        Arg("n", positional=True, required=True, type=int, help="criterion number (1-based)"),
        Arg("undo", option="--undo", flag=True, help="untick instead"),
    ],
)
async def backlog_check(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    repo = _repo(ctx)
    item = await _get(repo, args["id"])
    n = args["n"]
    if not item.criteria:
        raise CommandError(
            f"{item.ref} has no acceptance criteria; add them with update --criterion"
        )
    if not 1 <= n <= len(item.criteria):
        raise CommandError(
            f"{item.ref} has criteria 1..{len(item.criteria)}, not {n}; "
            f"see `backlog show {item.ref}`",
            2,
        )
    item.criteria[n - 1].done = not args.get("undo")
    await _save(repo, item)
    done = sum(c.done for c in item.criteria)
    mark = "x" if item.criteria[n - 1].done else " "
    ticked = f"{done}/{len(item.criteria)} ticked"
    return CommandResult(
        data=item.to_dict(),
        text=f"{item.ref} [{mark}] {item.criteria[n - 1].text} ({ticked})",
        changed=CHANGED,
    )


@command("backlog", "groom", help="order the open work; print sequence and statistics")
async def backlog_groom(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.backlog.groom import groom, render_sequence, render_statistics

    repo = _repo(ctx)
    result = groom(await repo.list_items(), await repo.latest_sync_state())
    text = render_statistics(result.statistics) + "\n\n" + render_sequence(result)
    return CommandResult(data=result.to_dict(), text=text)


@command(
    "backlog",
    "import",
    help="import a groomed backlog markdown file (re-import updates, never duplicates)",
    args=[
        Arg("file", positional=True, help="the .md file (default: [backlog] file in config)"),
        Arg("strict", option="--strict", flag=True, help="exit 1 when any item was skipped"),
    ],
)
async def backlog_import(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.backlog.parser import parse_backlog

    name = args.get("file") or ctx.config.section("backlog").get("file")
    if not name:
        raise CommandError(
            'no file given: backlog import FILE.md (or set file = "..." under [backlog])', 2
        )
    path = _path(ctx, str(name))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CommandError(f"backlog file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read backlog file {path}: {exc}") from exc
    from opencode.commands.backlog.document import save_document, spans_for

    parsed = parse_backlog(text)
    as_written = {item.line: item.fields() for item in parsed.items}
    created, updated, moved = await _repo(ctx).import_items(parsed.items, parsed.planned_at)
    # kept so that export writes this file back, changed items only re-rendered
    await save_document(ctx.store, str(path), parsed.text, spans_for(parsed, as_written))
    problems = [f"{path.name}:{p.line}: {p.severity}: {p.message}" for p in parsed.problems]
    lines = [f"imported {path}: {len(created)} new, {len(updated)} updated"] + problems
    # The file wins, also over a status a sync or `done` set: say so, since evidence stays.
    lines += [f"status of {i.ref} changed: {before} -> {i.status}" for i, before in moved]
    errors = parsed.errors
    return CommandResult(
        data={
            "file": str(path),
            "created": len(created),
            "updated": len(updated),
            "items": [{"id": i.id, "key": i.key, "title": i.title} for i in created + updated],
            "problems": [p.to_dict() for p in parsed.problems],
            "status_changes": [
                {"id": i.id, "key": i.key, "from": before, "to": i.status} for i, before in moved
            ],
        },
        text="\n".join(lines),
        changed=CHANGED if created or updated else frozenset(),
        exit_code=1 if errors and args.get("strict") else 0,
    )


@command(
    "backlog",
    "export",
    help="write the backlog as groomed-backlog markdown (stdout or --output FILE)",
    args=[
        Arg("output", option="--output", short="-o", help="write to this file"),
        Arg(
            "check",
            option="--check",
            flag=True,
            help="exit 1 when a re-import would not give every stored field back",
        ),
        Arg(
            "fresh",
            option="--fresh",
            flag=True,
            help="render every item anew instead of writing the imported file back",
        ),
    ],
)
async def backlog_export(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.backlog.document import check_export, load_document, render_document
    from opencode.commands.backlog.exporter import export_backlog

    items = await _repo(ctx).list_items()
    document = None if args.get("fresh") else await load_document(ctx.store)
    markdown = render_document(document, items) if document else export_backlog(items)
    differences = check_export(markdown, items)
    warnings = [f"warning: not reproducible: {d}" for d in differences]
    code = 1 if differences and args.get("check") else 0
    if args.get("output"):
        path = _path(ctx, args["output"])
        try:
            path.write_text(markdown, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror}") from exc
        return CommandResult(
            data={"path": str(path), "items": len(items), "differences": differences},
            text="\n".join([f"exported {len(items)} items to {path}", *warnings]),
            exit_code=code,
        )
    for warning in warnings:  # stdout carries the markdown: say it on the progress channel
        ctx.progress(warning)
    return CommandResult(
        data={"items": len(items), "markdown": markdown, "differences": differences},
        text=markdown,
        exit_code=code,
    )


@command(
    "backlog",
    "sync",
    help="check open items against the git repository (plan vs reality); --apply updates them",
    args=[
        Arg("since", option="--since", metavar="REV", help="only commits after REV count"),
        Arg("apply", option="--apply", flag=True, help="update statuses and record evidence"),
        Arg(
            "min_confidence",
            option="--min-confidence",
            choices=("low", "medium", "high"),
            help="--apply acts on findings this confident or more (default: high)",
        ),
        Arg("repo", option="--repo", metavar="PATH", help="repository (default: current dir)"),
        Arg("state_file", option="--state-file", metavar="PATH", help="sync-state JSON path"),
        Arg("report_file", option="--report-file", metavar="PATH", help="markdown report path"),
    ],
)
async def backlog_sync(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    import json

    from opencode.commands.backlog.classify import apply_findings
    from opencode.commands.backlog.evidence import RealityError
    from opencode.commands.backlog.reality import check_reality
    from opencode.commands.backlog.report import render_report

    repo = _repo(ctx)
    items = await repo.list_items()
    where = _path(ctx, args["repo"]) if args.get("repo") else ctx.cwd
    try:
        state = await check_reality(items, where, args.get("since"))
    except RealityError as exc:
        raise CommandError(str(exc)) from exc
    changed: frozenset[str] = frozenset()
    if args.get("apply"):
        touched = apply_findings(state, args.get("min_confidence") or "high")
        async with ctx.store.transaction():
            for finding in touched:
                await repo.save(finding.item)
        changed = CHANGED if touched else frozenset()
    section = ctx.config.section("backlog")
    base = Path(ctx.config.data_dir) / "backlog"
    state_path = _path(
        ctx, args.get("state_file") or section.get("sync_state") or str(base / "sync-state.json")
    )
    report_path = _path(
        ctx, args.get("report_file") or section.get("sync_report") or str(base / "sync-report.md")
    )
    data = state.to_dict()
    report = render_report(state, state_path)
    try:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        state_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(report, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write sync output ({exc.filename}): {exc.strerror}") from exc
    await repo.record_sync_run(state.repo, state.head, state.since, state.applied, data)
    data["state_file"] = str(state_path)
    data["report_file"] = str(report_path)
    return CommandResult(data=data, text=report, changed=changed)
