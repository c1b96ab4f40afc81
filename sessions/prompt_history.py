"""What the user sent in a directory, newest first: the prompt's Ctrl+R history search.

Read from the store (every session of ``cwd``, deleted ones excluded), so the history spans
earlier sessions and survives restarts. Each distinct text is kept once, at its newest use.
``PromptFilter`` narrows them as the query is typed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opencode.sessions.store.db import Store

# A directory used for months holds tens of thousands of messages: all of them are searchable
# (loading 10,000 takes ~40 ms), within a bound on the text held (a pasted log, many times).
DEFAULT_LIMIT = 20_000
MAX_TOTAL_CHARS = 16_000_000


async def sent_prompts(
    store: Store, cwd: Path | str, limit: int = DEFAULT_LIMIT, max_chars: int = MAX_TOTAL_CHARS
) -> list[str]:
    """The distinct user messages sent in sessions of ``cwd``, newest first, at most ``limit``
    of them and ``max_chars`` of text in all."""
    rows = await store.fetchall(
        "SELECT p.content FROM part p"
        " JOIN message m ON m.id = p.message_id"
        " JOIN session s ON s.id = m.session_id"
        " WHERE s.cwd = ? AND s.deleted_at IS NULL AND m.role = 'user'"
        " AND p.kind = 'text' AND p.content != ''"
        " ORDER BY m.created_at DESC, m.id DESC, p.seq LIMIT ?",
        (str(cwd), limit * 2),
    )
    seen: set[str] = set()
    out: list[str] = []
    held = 0
    for row in rows:
        text = str(row[0]).strip()
        if text and text not in seen:
            held += len(text)
            if held > max_chars:
                break
            seen.add(text)
            out.append(text)
            if len(out) >= limit:
                break
    return out


class PromptFilter:
    """Which entries hold every word typed (case-insensitive), the first ``limit`` in order.

    Built once per search: the entries are lowercased once, not on every keystroke. When the
    query extends the previous one (a character typed at its end), every match of the new query
    also matched the old one, so only the old matches are checked again and the scan resumes
    where the old one stopped at ``limit``, instead of walking all entries again.
    """

    def __init__(self, entries: list[str], limit: int) -> None:
        self.lowered = [entry.lower() for entry in entries]
        self.limit = limit
        self._query: str | None = None
        self._found: list[int] = []
        self._scanned = 0  # entries before this index were all checked for ``_query``

    def matches(self, query: str) -> list[int]:
        """Indexes of the entries holding every word of ``query``, in order, at most ``limit``."""
        query = query.lower()
        words = query.split()
        lowered = self.lowered
        found: list[int] = []
        start = 0
        if self._query is not None and query.startswith(self._query):
            for i in self._found:
                if all(word in lowered[i] for word in words):
                    found.append(i)
            start = self._scanned
        scanned = len(lowered)
        if found and len(found) >= self.limit:  # every old match still matches: nothing new to scan
            scanned = found[-1] + 1
        else:
            for i in range(start, len(lowered)):
                low = lowered[i]
                if all(word in low for word in words):
                    found.append(i)
                    if len(found) >= self.limit:
                        scanned = i + 1
                        break
        self._query, self._found, self._scanned = query, found, scanned
        return found
