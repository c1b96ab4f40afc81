"""Full-text search over every session's messages and tool output (FTS5, ``part_fts``).

The index is kept by triggers (migration 0010): a part is indexed when its message finishes,
so streaming never churns it. ``search`` ranks with bm25, returns a highlighted snippet per
hit, and skips soft-deleted sessions. A query FTS5 cannot parse (``foo(``, an unbalanced
quote, a bare ``AND``) is retried as a phrase search of its words rather than failing.
"""

from __future__ import annotations

import json
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
    """Rank inside FTS5 first, then join: ``ORDER BY rank LIMIT k`` on the FTS table alone
    lets FTS5 keep only the best k, where ranking after a join sorts every match. Filters
    (and soft-deleted sessions) drop candidates, so the candidate window grows until enough
    pass or the matches run out."""
    window = limit * 4
    while True:
        # FTS5 sorts by rank itself; the snippet is made only for the rows taken.
        candidates = await store.fetchall(
            "SELECT rowid, rank, snippet(part_fts, 0, ?, ?, '…', ?) FROM part_fts"
            " WHERE part_fts MATCH ? ORDER BY rank LIMIT ?",
            (HIGHLIGHT_START, HIGHLIGHT_END, SNIPPET_TOKENS, match, window),
        )
        hits = await _join(store, candidates, cwd, model, since)
        if len(hits) >= limit or len(candidates) < window:
            return hits[:limit]
        window *= 8


async def _join(
    store: Store,
    candidates: list[Any],
    cwd: str | None,
    model: str | None,
    since: float | None,
) -> list[SearchHit]:
    if not candidates:
        return []
    ranked = {int(r[0]): (float(r[1]), str(r[2])) for r in candidates}
    where = ["p.rowid IN (SELECT value FROM json_each(?))", "s.deleted_at IS NULL"]
    params: list[Any] = [json.dumps(list(ranked))]
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
    rows = await store.fetchall(
        "SELECT p.rowid AS part_rowid, s.id AS session_id, s.title, s.cwd, s.model,"
        " m.id AS message_id, m.role, p.kind, m.created_at"
        " FROM part p"
        " JOIN message m ON m.id = p.message_id"
        " JOIN session s ON s.id = p.session_id"
        f" WHERE {' AND '.join(where)}",
        params,
    )
    rows.sort(key=lambda r: ranked[r["part_rowid"]][0])
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
            snippet=ranked[r["part_rowid"]][1],
            rank=ranked[r["part_rowid"]][0],
        )
        for r in rows
    ]
