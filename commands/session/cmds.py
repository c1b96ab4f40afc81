"""Session commands: ``session list``, ``session show ID``, ``session export ID``,
``session rewind ID --to MSG``, ``session fork ID``.

Also reachable in chat as ``/sessions`` (list) and ``/export``.
"""

from __future__ import annotations

import time
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

# `session rewind` exits with this when files were skipped (and not --force): the code
# rewind is incomplete and the conversation was left as it is.
REWIND_INCOMPLETE_EXIT = 3


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


@command(
    "session",
    "list",
    help="list sessions (this directory unless --all)",
    args=[
        Arg("all", option="--all", flag=True, help="sessions of every directory"),
        Arg("limit", option="--limit", type=int, default=50, help="at most N (default 50)"),
    ],
    aliases=[("sessions",)],
)
async def session_list(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.store.sessions import SessionRepo

    repo = SessionRepo(ctx.store)
    records = await repo.list(None if args.get("all") else ctx.cwd, limit=args["limit"])
    rows = [
        [
            r.id,
            r.title or "(untitled)",
            r.model,
            r.input_tokens + r.output_tokens,
            _when(r.updated_at),
        ]
        + ([r.cwd] if args.get("all") else [])
        for r in records
    ]
    columns = ["id", "title", "model", "tokens", "updated"] + (["cwd"] if args.get("all") else [])
    if any(r.cost for r in records):  # a cost column once any session has a known cost
        columns.insert(4, "cost")
        for row, r in zip(rows, records, strict=True):
            row.insert(4, f"{r.cost:.4f}" if r.cost else "")
    text = (
        None
        if records
        else 'No sessions yet here. Start one with `opencode run "..."` or `opencode`.'
    )
    return CommandResult(
        data=[r.to_dict() for r in records],
        tables=[Table(columns, rows)] if records else [],
        text=text,
    )


async def _load(
    ctx: CommandContext, session_id: str, *, include_rewound: bool = False
) -> tuple[Any, list[Any]]:
    from opencode.sessions.store.sessions import SessionRepo

    repo = SessionRepo(ctx.store)
    record = await repo.get(session_id)
    if record is None:
        raise CommandError(
            f"no session {session_id!r} in {ctx.store.path}; see `opencode session list --all`"
        )
    return record, await repo.messages(record.id, include_rewound=include_rewound)


def transcript_markdown(record: Any, messages: list[Any]) -> str:
    """The whole session as markdown: one heading per message, tool calls as fenced blocks."""
    lines = [f"# {record.title or 'Untitled session'}", ""]
    lines.append(f"- session: `{record.id}`")
    lines.append(f"- model: `{record.model}`")
    lines.append(f"- directory: `{record.cwd}`")
    lines.append(f"- tokens: {record.input_tokens} in / {record.output_tokens} out")
    if record.cost:
        lines.append(f"- cost: {record.cost:.4f}")
    lines.append("")
    for message in messages:
        heading = "User" if message.role == "user" else "Assistant"
        if message.role == "assistant" and message.model and message.model != record.model:
            heading += f" ({message.model})"  # a fallback (or another model) answered
        if message.role == "assistant" and message.interrupted:
            heading += " (interrupted)"
        if message.rewound_at is not None:
            heading += " (rewound)"
        lines.append(f"## {heading}")
        lines.append("")
        for part in message.parts:
            if part.kind == "text":
                lines.append(part.content)
            elif part.kind == "reasoning":
                lines.append("> " + part.content.replace("\n", "\n> "))
            elif part.kind == "tool_call":
                lines.append(f"**Tool `{part.tool_name}`** ({part.status})")
                lines.append("```json")
                lines.append(part.tool_args or "{}")
                lines.append("```")
            elif part.kind == "tool_result":
                lines.append("```")
                lines.append(part.content.rstrip())
                lines.append("```")
            elif part.kind == "error":
                hint = part.metadata.get("hint")
                lines.append(f"**Error:** {part.content}" + (f" — {hint}" if hint else ""))
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


@command(
    "session",
    "show",
    help="show a session's transcript",
    args=[
        Arg("id", positional=True, required=True, help="session id (a unique prefix works)"),
        Arg("all", option="--all", flag=True, help="also the messages a rewind took out"),
        Arg(
            "full",
            option="--full",
            flag=True,
            help="every message, also those compacted away, with the compaction points",
        ),
    ],
)
async def session_show(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.session.compact import show_with_compactions

    record, messages = await _load(ctx, args["id"], include_rewound=bool(args.get("all")))
    text, extra = await show_with_compactions(ctx, record, messages, bool(args.get("full")))
    return CommandResult(
        data={**record.to_dict(), "messages": [m.to_dict() for m in messages], **extra},
        text=text,
    )


@command(
    "session",
    "export",
    help="export a session as markdown (or JSON with --format json)",
    args=[
        Arg("id", positional=True, required=True, help="session id"),
        Arg("output", option="--output", short="-o", help="write to this file instead of stdout"),
    ],
    aliases=[("export",)],
)
async def session_export(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    import json
    from pathlib import Path

    record, messages = await _load(ctx, args["id"])
    data = {**record.to_dict(), "messages": [m.to_dict() for m in messages]}
    markdown = transcript_markdown(record, messages)
    if args.get("output"):
        path = Path(args["output"]).expanduser()
        if not path.is_absolute():
            path = ctx.cwd / path
        body = json.dumps(data, indent=2) if ctx.format == "json" else markdown
        try:
            path.write_text(body, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror}") from exc
        return CommandResult(
            data={"path": str(path), "session_id": record.id},
            text=f"exported {record.id} to {path}",
        )
    return CommandResult(data=data, text=markdown)


@command(
    "session",
    "rewind",
    help="restore files and/or conversation to just before a message or tool call",
    description=(
        "Files come back from the before-images the session recorded (write, edit and bash "
        "snapshots), so this works outside git and never touches files the session did not "
        "change; a file changed since by someone else is reported, not overwritten, unless "
        "--force. Rewound messages are kept (marked), `session show --all` shows them. "
        "When files are skipped (and no --force) the conversation is left as it is and the "
        f"exit status is {REWIND_INCOMPLETE_EXIT}."
    ),
    args=[
        Arg("id", positional=True, required=True, help="session id (a unique prefix works)"),
        Arg(
            "to",
            option="--to",
            required=True,
            help="message id, tool call part id or call id (see `session show ID --format json`)",
        ),
        Arg("code", option="--code", flag=True, help="files only"),
        Arg("chat", option="--chat", flag=True, help="conversation only"),
        Arg("both", option="--both", flag=True, help="files and conversation (the default)"),
        Arg("dry_run", option="--dry-run", flag=True, help="say what would happen, change nothing"),
        Arg("force", option="--force", flag=True, help="overwrite files changed since by others"),
    ],
)
async def session_rewind(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.rewind.actions import rewind
    from opencode.sessions.rewind.restore import RewindError, summary

    code, chat = bool(args.get("code")), bool(args.get("chat"))
    if args.get("both") or not (code or chat):
        code = chat = True
    dry_run = bool(args.get("dry_run"))
    try:
        record, plan = await rewind(
            ctx.store,
            args["id"],
            args["to"],
            code=code,
            chat=chat,
            force=bool(args.get("force")),
            dry_run=dry_run,
        )
    except RewindError as exc:
        raise CommandError(str(exc)) from exc
    cwd = Path(record.cwd)
    # A half-done rewind must not read as success to `rewind ... && next-step` (exit 3).
    incomplete = bool(plan.skipped) and not dry_run and not args.get("force")
    return CommandResult(
        data={**plan.to_dict(cwd), "dry_run": dry_run},
        text=summary(plan, cwd, dry_run=dry_run),
        exit_code=REWIND_INCOMPLETE_EXIT if incomplete else 0,
    )


@command(
    "session",
    "fork",
    help="start a new session that shares this one's history (up to just before --at)",
    args=[
        Arg("id", positional=True, required=True, help="session id (a unique prefix works)"),
        Arg("at", option="--at", help="message or tool call id: history up to just before it"),
    ],
)
async def session_fork(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.rewind.actions import fork
    from opencode.sessions.rewind.restore import RewindError

    try:
        forked = await fork(ctx.store, args["id"], args.get("at"))
    except RewindError as exc:
        raise CommandError(str(exc)) from exc
    return CommandResult(
        data=forked.to_dict(),
        text=(
            f"forked {forked.parent_id} as {forked.id} ({forked.title}); "
            f'continue it with `opencode run -s {forked.id} "..."`'
        ),
    )
