"""What the user sent in a directory, newest first: the prompt's Ctrl+R history search.

Read from the store (every session of ``cwd``, deleted ones excluded), so the history spans
earlier sessions and survives restarts. Each distinct text is kept once, at its newest use.
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
