"""Full-text search over every session's messages and tool output (FTS5, ``part_fts``).

The index is kept by triggers (migration 0010): a part is indexed when its message finishes,
so streaming never churns it. ``search`` ranks with bm25, returns a highlighted snippet per
hit, and skips soft-deleted sessions. A query FTS5 cannot parse (``foo(``, an unbalanced
quote, a bare ``AND``) is retried as a phrase search of its words rather than failing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from opencode.sessions.store.db import Store, StoreError

HIGHLIGHT_START, HIGHLIGHT_END = "\x02", "\x03"  # replaced by the renderer (**…** or JSON)
SNIPPET_TOKENS = 16
_WORD = re.compile(r"\w+", re.UNICODE)


class SearchError(Exception):
    """A query that cannot be searched even as plain words (e.g. only punctuation)."""


@dataclass(slots=True)
class SearchHit:
    session_id: str
    title: str
    cwd: str
    model: str
    message_id: str
    role: str
    kind: str
    created_at: float
    snippet: str
    rank: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "title": self.title,
            "cwd": self.cwd,
            "model": self.model,
            "message_id": self.message_id,
            "role": self.role,
            "kind": self.kind,
            "created_at": self.created_at,
            "snippet": self.snippet,
            "rank": self.rank,
        }


def phrase_query(text: str) -> str:
    """The words of ``text`` as one FTS5 phrase: nothing in it is syntax any more."""
    words = _WORD.findall(text)
    if not words:
        raise SearchError(
            f"nothing to search for in {text!r}: give at least one word "
            '(FTS5 syntax works too: `"exact phrase"`, `foo OR bar`, `prefix*`)'
        )
    return '"' + " ".join(words) + '"'


async def search(
    store: Store,
    query: str,
    *,
    cwd: str | None = None,
    model: str | None = None,
    since: float | None = None,
    limit: int = 20,
) -> tuple[list[SearchHit], bool]:
    """Hits best first, and whether the query had to be read as a plain phrase."""
    if not query.strip():
        raise SearchError("empty query: give the words to search for")
    try:
        return await _search(store, query, cwd, model, since, limit), False
    except StoreError as exc:
        # FTS5 reports bad syntax in many words ("fts5: syntax error", "unterminated string",
        # "no such column"); a locked, full or damaged file has its own kind and is raised.
        if exc.kind != "other":
            raise
    return await _search(store, phrase_query(query), cwd, model, since, limit), True


async def _search(
    store: Store,
    match: str,
    cwd: str | None,
    model: str | None,
    since: float | None,
    limit: int,
) -> list[SearchHit]:
    where = ["part_fts MATCH ?", "s.deleted_at IS NULL"]
    params: list[Any] = [HIGHLIGHT_START, HIGHLIGHT_END, SNIPPET_TOKENS, match]
    if cwd is not None:
        where.append("s.cwd = ?")
        params.append(cwd)
    if model is not None:
        # "gpt-4o" finds "openai/gpt-4o": a model is matched by its full ref or its name.
        where.append("(s.model = ? OR s.model LIKE ? ESCAPE '\\' OR m.model = ?)")
        escaped = model.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params += [model, "%/" + escaped, model]
    if since is not None:
        where.append("m.created_at >= ?")
        params.append(since)
    params.append(limit)
    rows = await store.fetchall(
        "SELECT s.id AS session_id, s.title, s.cwd, s.model, m.id AS message_id, m.role,"
        " p.kind, m.created_at,"
        " snippet(part_fts, 0, ?, ?, '…', ?) AS snippet, bm25(part_fts) AS rank"
        " FROM part_fts"
        " JOIN part p ON p.rowid = part_fts.rowid"
        " JOIN message m ON m.id = p.message_id"
        " JOIN session s ON s.id = p.session_id"
        f" WHERE {' AND '.join(where)}"
        " ORDER BY rank LIMIT ?",
        params,
    )
    return [
        SearchHit(
            session_id=r["session_id"],
            title=r["title"],
            cwd=r["cwd"],
            model=r["model"],
            message_id=r["message_id"],
            role=r["role"],
            kind=r["kind"],
            created_at=r["created_at"],
            snippet=r["snippet"],
            rank=r["rank"],
        )
        for r in rows
    ]
