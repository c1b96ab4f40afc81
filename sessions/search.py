"""Full-text search over every session's messages and tool output (FTS5, ``part_fts``).

The index is kept by triggers (migration 0010): a part is indexed when its message finishes,
so streaming never churns it. ``search`` ranks with bm25, returns a highlighted snippet per
hit, and skips soft-deleted sessions. A query FTS5 cannot parse (``foo(``, an unbalanced
quote, a bare ``AND``) is retried as a phrase search of its words rather than failing.

Ranking is done inside FTS5 (``ORDER BY rank LIMIT k`` on the FTS table, then the join): a
word found in most messages would still make bm25 score every match, so such a query ranks the
newest ``RANK_WINDOW`` matches only (a filtered query that finds too few there ranks them all).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from opencode.sessions.store.db import Store, StoreError

HIGHLIGHT_START, HIGHLIGHT_END = "\x02", "\x03"  # replaced by the renderer (**…** or JSON)
SNIPPET_TOKENS = 16
# Queries matching more parts than this rank only the newest this many (see _recent_floor).
RANK_WINDOW = 20_000
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
    rowid: int = 0  # part_fts / part rowid (not shown)

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
    floor = await _recent_floor(store, match)
    while True:
        hits, exhausted = await _ranked(store, match, floor, limit, cwd, model, since)
        filtered = cwd is not None or model is not None or since is not None
        if len(hits) >= limit or floor is None or not exhausted or not filtered:
            break
        floor = None  # the newest matches had too few that pass the filters: rank them all
    hits = hits[:limit]
    for hit in hits:  # snippets for the hits shown only: each is a rowid lookup
        row = await store.fetchone(
            "SELECT snippet(part_fts, 0, ?, ?, '…', ?) FROM part_fts"
            " WHERE part_fts MATCH ? AND rowid = ?",
            (HIGHLIGHT_START, HIGHLIGHT_END, SNIPPET_TOKENS, match, hit.rowid),
        )
        hit.snippet = str(row[0]) if row else ""
    return hits


async def _recent_floor(store: Store, match: str) -> int | None:
    """bm25 must score every match before the best k are known, which for a word found in
    most messages costs hundreds of ms. So when a query matches more than ``RANK_WINDOW``
    parts, only the newest ``RANK_WINDOW`` are ranked: their lowest rowid is returned (a
    reverse walk of the doclist, no scoring). None when every match can be ranked."""
    # The RANK_WINDOW-th newest match, and whether there is one more after it.
    rows = await store.fetchall(
        "SELECT rowid FROM part_fts WHERE part_fts MATCH ? ORDER BY rowid DESC LIMIT 2 OFFSET ?",
        (match, RANK_WINDOW - 1),
    )
    return int(rows[0][0]) if len(rows) == 2 else None


async def _ranked(
    store: Store,
    match: str,
    floor: int | None,
    limit: int,
    cwd: str | None,
    model: str | None,
    since: float | None,
) -> tuple[list[SearchHit], bool]:
    """The best ``limit`` hits that pass the filters (at or above rowid ``floor``), and whether
    every match there was looked at. Filters drop candidates, so the window widens."""
    filtered = cwd is not None or model is not None or since is not None
    # Each pass scores every match again: when filters will drop most candidates, start wide.
    window = limit * (64 if filtered else 4)
    where = "part_fts MATCH ?" + (" AND rowid >= ?" if floor is not None else "")
    base: list[Any] = [match] + ([floor] if floor is not None else [])
    while True:
        candidates = await store.fetchall(
            f"SELECT rowid, rank FROM part_fts WHERE {where} ORDER BY rank LIMIT ?",
            [*base, window],
        )
        hits = await _join(store, candidates, cwd, model, since)
        exhausted = len(candidates) < window
        if len(hits) >= limit or exhausted:
            return hits, exhausted
        window = window * 8 if window < 4096 else 1 << 62


async def _join(
    store: Store,
    candidates: list[Any],
    cwd: str | None,
    model: str | None,
    since: float | None,
) -> list[SearchHit]:
    if not candidates:
        return []
    ranked = {int(r[0]): float(r[1]) for r in candidates}
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
    rows.sort(key=lambda r: ranked[r["part_rowid"]])
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
            snippet="",
            rank=ranked[r["part_rowid"]],
            rowid=r["part_rowid"],
        )
        for r in rows
    ]
