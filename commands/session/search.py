"""Finding and tidying sessions: ``session search``, ``session rename``, ``session delete``
(a soft delete: hidden from list, search and -c) and ``session purge`` (gone for good)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from opencode.commands.registry import (
    Arg,
    CommandContext,
    CommandError,
    CommandResult,
    Table,
    command,
)


def parse_since(text: str) -> float:
    """``2026-11-01``, ``2026-11-01T10:00`` or a relative ``7d`` / ``12h`` → unix seconds."""
    value = text.strip()
    units = {"d": 86400, "h": 3600, "m": 60}
    if value[:-1].isdigit() and value[-1:] in units:
        return time.time() - int(value[:-1]) * units[value[-1]]
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise CommandError(
            f"--since {text!r} is not a date",
            exit_code=2,
            hint="give YYYY-MM-DD, an ISO date-time, or a span such as 7d / 12h",
        ) from None


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


@command(
    "session",
    "search",
    help="full-text search over every session's messages and tool output",
    args=[
        Arg(
            "query",
            positional=True,
            required=True,
            multiple=True,
            help='words, or FTS5 syntax ("a b", x OR y)',
        ),
        Arg("dir", option="--dir", help="only sessions started in this directory"),
        Arg("model", option="--model", help="only sessions of this model (provider/name or name)"),
        Arg("since", option="--since", help="only messages since DATE (YYYY-MM-DD, or 7d)"),
        Arg("limit", option="--limit", type=int, default=20, help="at most N hits (default 20)"),
    ],
)
async def session_search(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from pathlib import Path

    from opencode.sessions.search import HIGHLIGHT_END, HIGHLIGHT_START, SearchError, search

    query = " ".join(args["query"]) if isinstance(args["query"], list) else str(args["query"])
    since = parse_since(args["since"]) if args.get("since") else None
    directory = None
    if args.get("dir"):
        path = Path(args["dir"]).expanduser()
        directory = str((path if path.is_absolute() else ctx.cwd / path).resolve())
    if args["limit"] < 1:
        raise CommandError("--limit must be at least 1", exit_code=2)
    try:
        hits, as_phrase = await search(
            ctx.store,
            query,
            cwd=directory,
            model=args.get("model"),
            since=since,
            limit=args["limit"],
        )
    except SearchError as exc:
        raise CommandError(str(exc), exit_code=2) from None

    def marked(snippet: str, start: str, end: str) -> str:
        return snippet.replace(HIGHLIGHT_START, start).replace(HIGHLIGHT_END, end)

    data = {
        "query": query,
        "as_phrase": as_phrase,
        "hits": [
            {**h.to_dict(), "snippet": marked(h.snippet, "[", "]"), "highlight": ["[", "]"]}
            for h in hits
        ],
    }
    note = (
        "(the query is not valid FTS5 syntax; searched its words as one phrase)\n"
        if as_phrase
        else ""
    )
    if not hits:
        return CommandResult(data=data, text=f"{note}No matches for {query!r}.")
    lines = [note.rstrip()] if note else []
    for hit in hits:
        lines.append(
            f"{hit.session_id}  {_when(hit.created_at)}  {hit.title or '(untitled)'}  "
            f"[{hit.role}{'' if hit.kind == 'text' else ' ' + hit.kind}]"
        )
        snippet = marked(hit.snippet, "**", "**").replace("\n", " ")
        lines.append(f"    {snippet}")
    return CommandResult(data=data, text="\n".join(lines))


async def _session(ctx: CommandContext, session_id: str) -> Any:
    from opencode.sessions.store.sessions import SessionRepo

    record = await SessionRepo(ctx.store).get(session_id)
    if record is None:
        raise CommandError(
            f"no session {session_id!r} in {ctx.store.path}",
            hint="see `opencode session list --all`",
        )
    return record


@command(
    "session",
    "rename",
    help="give a session a new title",
    args=[
        Arg("id", positional=True, required=True, help="session id (a unique prefix works)"),
        Arg("title", positional=True, required=True, multiple=True, help="the new title"),
    ],
)
async def session_rename(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.store.sessions import SessionRepo

    record = await _session(ctx, args["id"])
    words = args["title"]
    title = (" ".join(words) if isinstance(words, list) else str(words)).strip()
    if not title:
        raise CommandError("the title is empty", exit_code=2, hint="give the new title")
    await SessionRepo(ctx.store).rename(record.id, title)
    return CommandResult(
        data={"session_id": record.id, "title": title, "old_title": record.title},
        text=f"renamed {record.id}: {title}",
        changed=frozenset({"sessions"}),
    )


@command(
    "session",
    "delete",
    help="delete a session (hidden until `session purge`; needs --yes)",
    args=[
        Arg("id", positional=True, required=True, help="session id (a unique prefix works)"),
        Arg("yes", option="--yes", short="-y", flag=True, help="confirm the delete"),
        Arg("undo", option="--undo", flag=True, help="bring a deleted session back"),
    ],
)
async def session_delete(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.store.sessions import SessionRepo

    repo = SessionRepo(ctx.store)
    record = await _session(ctx, args["id"])
    label = f"{record.id} ({record.title or 'untitled'})"
    if args.get("undo"):
        await repo.restore(record.id)
        return CommandResult(
            data={"session_id": record.id, "deleted": False},
            text=f"restored {label}",
            changed=frozenset({"sessions"}),
        )
    if not args.get("yes"):
        # The confirmation step: the TUI shows this and the user repeats with --yes.
        return CommandResult.failure(
            f"delete {label}? nothing was deleted",
            hint=f"confirm with `session delete {record.id} --yes` "
            "(it stays recoverable with --undo until `session purge`)",
            exit_code=2,
        )
    await repo.soft_delete(record.id)
    return CommandResult(
        data={"session_id": record.id, "deleted": True},
        text=f"deleted {label}; `session delete {record.id} --undo` brings it back, "
        "`session purge` removes it for good",
        changed=frozenset({"sessions"}),
    )


@command(
    "session",
    "purge",
    help="remove deleted sessions for good",
    args=[
        Arg(
            "older_than",
            option="--older-than",
            type=float,
            metavar="DAYS",
            help="only those deleted more than DAYS ago",
        ),
    ],
)
async def session_purge(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.store.sessions import SessionRepo

    days = args.get("older_than")
    if days is not None and days < 0:
        raise CommandError("--older-than must be 0 or more days", exit_code=2)
    ids = await SessionRepo(ctx.store).purge(days)
    return CommandResult(
        data={"purged": ids},
        text=f"purged {len(ids)} deleted session(s)" if ids else "no deleted sessions to purge",
        tables=[Table(["purged"], [[i] for i in ids])] if ids else [],
        changed=frozenset({"sessions"}),
    )
