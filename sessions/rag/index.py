"""The RAG index in SQLite: refresh from folders, search with FTS5, and note CRUD.

``refresh`` re-reads only files whose SHA-256 changed and drops rows of files that are gone;
``search`` ranks with ``bm25`` (title weighted above body) and returns ``snippet()`` excerpts
with the matched words marked. A query that is not valid FTS5 syntax (an unbalanced quote, a
stray ``:``) is searched again as plain words, never surfaced as a traceback.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opencode.sessions.rag.sources import digest, files_under, sections

if TYPE_CHECKING:
    from opencode.sessions.store.db import Store

MARK_OPEN, MARK_CLOSE = "**", "**"
TITLE_WEIGHT, BODY_WEIGHT = 4.0, 1.0
MAX_LIMIT = 100


class RagError(Exception):
    """A RAG request the user can fix (empty query, unknown id, a file row edited as a note)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(slots=True)
class RagHit:
    id: int
    kind: str
    title: str
    snippet: str
    score: float
    path: str | None = None
    anchor: str = ""

    @property
    def where(self) -> str:
        if self.path is None:
            return f"note {self.id}"
        return f"{self.path}#{self.anchor}" if self.anchor else self.path

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "where": self.where}


@dataclass(slots=True)
class SearchResult:
    query: str
    hits: list[RagHit]
    # "fts": the query as FTS5 syntax; "words": any of its words (invalid syntax, or no
    # document held every word).
    mode: str = "fts"
    note: str | None = None


@dataclass(slots=True)
class RefreshReport:
    roots: list[str] = field(default_factory=list)
    missing_roots: list[str] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0

    def summary(self) -> str:
        text = (
            f"{self.added} new, {self.updated} changed, {self.removed} removed, "
            f"{self.unchanged} unchanged file(s) in {len(self.roots)} folder(s)"
        )
        if self.missing_roots:
            text += f"; not found: {', '.join(self.missing_roots)}"
        return text


def words(query: str) -> list[str]:
    return re.findall(r"\w+", query)


def words_query(query: str) -> str:
    """Any of the query's words, each quoted so no FTS5 operator or column name survives."""
    return " OR ".join(f'"{w}"' for w in words(query))


class RagIndex:
    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ files

    async def refresh(self, roots: list[Path]) -> RefreshReport:
        report = RefreshReport()
        known: dict[str, tuple[str, int, int]] = {
            row["path"]: (row["sha256"], row["mtime_ns"], row["size"])
            for row in await self.store.fetchall(
                "SELECT path, sha256, mtime_ns, size FROM rag_doc WHERE kind = 'file' GROUP BY path"
            )
        }
        seen: set[str] = set()
        for root in roots:
            if not root.is_dir():
                report.missing_roots.append(str(root))
                continue
            report.roots.append(str(root))
            for path in files_under(root):
                key = str(path)
                seen.add(key)
                try:
                    stat = path.stat()
                    previous = known.get(key)
                    # Same size and mtime: unchanged without reading it (searches refresh
                    # first, so this keeps a big docs folder cheap).
                    if previous and previous[1:] == (stat.st_mtime_ns, stat.st_size):
                        report.unchanged += 1
                        continue
                    data = path.read_bytes()
                except OSError:
                    continue
                sha = digest(data)
                if previous and previous[0] == sha:
                    await self.store.execute(
                        "UPDATE rag_doc SET mtime_ns = ?, size = ? WHERE path = ?",
                        (stat.st_mtime_ns, stat.st_size, key),
                    )
                    report.unchanged += 1
                    continue
                await self._write_file(
                    root, path, data, sha, (stat.st_mtime_ns, stat.st_size), replace=bool(previous)
                )
                if key in known:
                    report.updated += 1
                else:
                    report.added += 1
        # Gone: files under a refreshed root that were not seen, and files deleted anywhere.
        for key in known:
            if key in seen:
                continue
            inside = any(Path(key).is_relative_to(Path(r)) for r in report.roots)
            if inside or not Path(key).exists():
                await self.store.execute("DELETE FROM rag_doc WHERE path = ?", (key,))
                report.removed += 1
        return report

    async def _write_file(
        self,
        root: Path,
        path: Path,
        data: bytes,
        sha: str,
        stamp: tuple[int, int],
        *,
        replace: bool,
    ) -> None:
        text = data.decode("utf-8", errors="replace")
        now = time.time()
        async with self.store.transaction():
            if replace:
                await self.store.execute("DELETE FROM rag_doc WHERE path = ?", (str(path),))
            await self.store.executemany(
                "INSERT INTO rag_doc (kind, path, anchor, root, title, body, sha256, mtime_ns, "
                "size, created_at, updated_at) VALUES ('file', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (str(path), s.anchor, str(root), s.title, s.body, sha, *stamp, now, now)
                    for s in sections(text, path.stem.replace("-", " ").replace("_", " "))
                ],
            )

    # ------------------------------------------------------------------ search

    async def search(self, query: str, *, limit: int = 10) -> SearchResult:
        query = query.strip()
        if not words(query):
            raise RagError(
                f"nothing to search for in {query!r}", hint="give one or more words, e.g. `locked`"
            )
        limit = max(1, min(limit, MAX_LIMIT))
        try:
            hits = await self._match(query, limit)
        except _SyntaxProblem as exc:
            return SearchResult(
                query,
                await self._match(words_query(query), limit),
                "words",
                f"not valid FTS5 query syntax ({exc}); searched for any of its words instead",
            )
        if not hits and len(words(query)) > 1:
            fallback = await self._match(words_query(query), limit)
            if fallback:
                return SearchResult(
                    query, fallback, "words", "no entry holds every word; ranked by any of them"
                )
        return SearchResult(query, hits)

    async def _match(self, fts_query: str, limit: int) -> list[RagHit]:
        from opencode.sessions.store.db import StoreError

        # Two steps: rank every match by bm25 alone, then build excerpts for the top `limit`
        # only. One query with snippet() in its select list computed an excerpt for every
        # match before the sort cut them (a common word: every note), ~40% of the cost.
        rank_sql = (
            f"SELECT rowid AS id, bm25(rag_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}) AS score "
            "FROM rag_fts WHERE rag_fts MATCH ? ORDER BY score LIMIT ?"
        )
        detail_sql = (
            "SELECT d.id, d.kind, d.path, d.anchor, d.title, "
            f"snippet(rag_fts, 1, '{MARK_OPEN}', '{MARK_CLOSE}', '…', 16) AS snip "
            "FROM rag_fts JOIN rag_doc d ON d.id = rag_fts.rowid "
            "WHERE rag_fts MATCH ? AND rag_fts.rowid = ?"
        )
        try:
            ranked = await self.store.fetchall(rank_sql, (fts_query, limit))
            hits: list[RagHit] = []
            for ranked_row in ranked:
                row = await self.store.fetchone(detail_sql, (fts_query, ranked_row["id"]))
                if row is None:  # removed between the two reads
                    continue
                hits.append(
                    RagHit(
                        id=row["id"],
                        kind=row["kind"],
                        title=row["title"],
                        snippet=" ".join((row["snip"] or "").split()),
                        score=-float(ranked_row["score"]),
                        path=row["path"],
                        anchor=row["anchor"],
                    )
                )
        except StoreError as exc:
            cause = exc.__cause__
            if isinstance(cause, sqlite3.OperationalError) and _is_query_error(str(cause)):
                raise _SyntaxProblem(str(cause)) from None
            raise
        return hits

    # ------------------------------------------------------------------ notes

    async def add_note(self, title: str, body: str) -> int:
        title, body = title.strip(), body.strip()
        if not title or not body:
            raise RagError("a note needs a title and a text", hint="--title T --text BODY")
        now = time.time()
        return await self.store.execute(
            "INSERT INTO rag_doc (kind, path, anchor, root, title, body, sha256, created_at, "
            "updated_at) VALUES ('note', NULL, '', '', ?, ?, ?, ?, ?)",
            (title, body, digest(body.encode()), now, now),
        )

    async def get(self, doc_id: int) -> dict[str, Any]:
        row = await self.store.fetchone("SELECT * FROM rag_doc WHERE id = ?", (doc_id,))
        if row is None:
            raise RagError(f"no RAG entry {doc_id}", hint="find ids with `opencode rag search`")
        return dict(row)

    async def update_note(self, doc_id: int, *, title: str | None, body: str | None) -> None:
        doc = await self._note(doc_id, "update")
        new_title = (title if title is not None else doc["title"]).strip()
        new_body = (body if body is not None else doc["body"]).strip()
        if not new_title or not new_body:
            raise RagError("a note's title and text cannot be empty")
        await self.store.execute(
            "UPDATE rag_doc SET title = ?, body = ?, sha256 = ?, updated_at = ? WHERE id = ?",
            (new_title, new_body, digest(new_body.encode()), time.time(), doc_id),
        )

    async def remove_note(self, doc_id: int) -> None:
        await self._note(doc_id, "remove")
        await self.store.execute("DELETE FROM rag_doc WHERE id = ?", (doc_id,))

    async def _note(self, doc_id: int, verb: str) -> dict[str, Any]:
        doc = await self.get(doc_id)
        if doc["kind"] != "note":
            raise RagError(
                f"RAG entry {doc_id} is a section of {doc['path']}, not a note",
                hint=f"edit or delete that file to {verb} it; `opencode rag reindex` picks "
                "the change up",
            )
        return doc

    async def count(self) -> dict[str, int]:
        rows = await self.store.fetchall("SELECT kind, COUNT(*) AS n FROM rag_doc GROUP BY kind")
        return {row["kind"]: row["n"] for row in rows}


class _SyntaxProblem(Exception):  # noqa: N818 - internal signal
    pass


def _is_query_error(message: str) -> bool:
    text = message.lower()
    return (
        "fts5" in text
        or "syntax error" in text
        or "no such column" in text
        or "unterminated" in text
        or "unknown special query" in text
    )
