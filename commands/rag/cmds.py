"""RAG commands: ``rag search QUERY``, ``rag add``, ``rag update ID``, ``rag remove ID``,
``rag reindex``. Searching refreshes the index first (only changed files are re-read), so a
note edited a moment ago is found as it now reads."""

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
    from opencode.sessions.rag.index import RagIndex, RefreshReport


async def _refreshed(ctx: CommandContext) -> tuple[RagIndex, RefreshReport]:
    from opencode.sessions.config import ConfigError
    from opencode.sessions.rag.index import RagIndex
    from opencode.sessions.rag.sources import rag_roots

    try:
        roots = rag_roots(ctx.config, ctx.cwd)
    except ConfigError as exc:
        raise CommandError(str(exc), exit_code=2) from None
    index = RagIndex(ctx.store)
    return index, await index.refresh(roots)


def _fail(exc: Exception) -> CommandError:
    return CommandError(str(exc), hint=getattr(exc, "hint", None))


@command(
    "rag",
    "search",
    help="search RAG notes and indexed docs (FTS5, best first)",
    args=[
        Arg("query", positional=True, required=True, multiple=True, help="words or FTS5 query"),
        Arg("limit", option="--limit", type=int, default=10, help="at most N hits (default 10)"),
    ],
)
async def rag_search(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.rag.index import RagError

    index, _ = await _refreshed(ctx)
    query = " ".join(args["query"])
    try:
        result = await index.search(query, limit=args["limit"])
    except RagError as exc:
        raise _fail(exc) from None
    data = {
        "query": result.query,
        "mode": result.mode,
        "note": result.note,
        "hits": [h.to_json() for h in result.hits],
    }
    if not result.hits:
        return CommandResult(data=data, text=f"No RAG entry matches {query!r}.")
    lines = [f"({result.note})", ""] if result.note else []
    for hit in result.hits:
        lines += [f"[{hit.id}] {hit.title}  ({hit.where})", f"    {hit.snippet}", ""]
    return CommandResult(data=data, text="\n".join(lines).rstrip())


@command(
    "rag",
    "add",
    help="add a note (from FILE, or --title T --text BODY)",
    args=[
        Arg("file", positional=True, help="a markdown/text file to add as a note"),
        Arg("title", option="--title", help="the note's title"),
        Arg("text", option="--text", help="the note's text"),
    ],
)
async def rag_add(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.rag.index import RagError, RagIndex

    title, text = args.get("title"), args.get("text")
    if args.get("file"):
        path = (ctx.cwd / args["file"]).resolve()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from None
        title = title or _first_heading(text) or Path(path).stem
    if not title or not text:
        raise CommandError(
            "rag add needs FILE, or both --title and --text",
            exit_code=2,
            hint='e.g. opencode rag add --title "Proxy port busy" --text "Stop the other..."',
        )
    try:
        doc_id = await RagIndex(ctx.store).add_note(title, text)
    except RagError as exc:
        raise _fail(exc) from None
    return CommandResult(data={"id": doc_id, "title": title}, text=f"Added note {doc_id}: {title}")


@command(
    "rag",
    "update",
    help="change a note's title or text",
    args=[
        Arg("id", positional=True, required=True, type=int, help="note id"),
        Arg("title", option="--title", help="new title"),
        Arg("text", option="--text", help="new text"),
        Arg("file", option="--file", help="new text from a file"),
    ],
)
async def rag_update(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.rag.index import RagError, RagIndex

    text = args.get("text")
    if args.get("file"):
        path = (ctx.cwd / args["file"]).resolve()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from None
    if args.get("title") is None and text is None:
        raise CommandError("nothing to update: give --title, --text or --file", exit_code=2)
    try:
        await RagIndex(ctx.store).update_note(args["id"], title=args.get("title"), body=text)
    except RagError as exc:
        raise _fail(exc) from None
    return CommandResult(data={"id": args["id"]}, text=f"Updated note {args['id']}")


@command(
    "rag",
    "remove",
    help="delete a note",
    args=[Arg("id", positional=True, required=True, type=int, help="note id")],
)
async def rag_remove(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.rag.index import RagError, RagIndex

    try:
        await RagIndex(ctx.store).remove_note(args["id"])
    except RagError as exc:
        raise _fail(exc) from None
    return CommandResult(data={"id": args["id"]}, text=f"Removed note {args['id']}")


@command("rag", "reindex", help="bring the index up to date with RAG/ and [rag] paths")
async def rag_reindex(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    index, report = await _refreshed(ctx)
    counts = await index.count()
    data = {
        "roots": report.roots,
        "missing_roots": report.missing_roots,
        "added": report.added,
        "updated": report.updated,
        "removed": report.removed,
        "unchanged": report.unchanged,
        "entries": counts,
    }
    rows = [[root] for root in report.roots]
    return CommandResult(
        data=data,
        text=f"Indexed: {report.summary()}. Entries: {counts.get('file', 0)} file sections, "
        f"{counts.get('note', 0)} notes.",
        tables=[Table(["folder"], rows)] if rows else [],
    )


def _first_heading(text: str) -> str | None:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return None
