"""The ``todo`` table: reading a session's list, and replacing it (for ``StoreWriter`` only,
which calls ``replace_todos`` on a ``TodosUpdated`` event; nothing else writes these rows).

The table keeps only the latest list; what the list was at an earlier point is read back from
the stored ``todowrite`` results (``visible_todos``), which a conversation rewind uses.
"""

from __future__ import annotations

import json
import time
from typing import Any

from opencode.sessions.store.db import Store
from opencode.sessions.todos import Todo, todos_from_json


async def load_todos(store: Store, session_id: str) -> list[Todo]:
    """The session's latest todo list, in the order the model wrote it (empty: none)."""
    rows = await store.fetchall(
        "SELECT id, content, status, priority FROM todo WHERE session_id = ? ORDER BY position",
        (session_id,),
    )
    raw: list[dict[str, Any]] = [
        {k: row[k] for k in ("id", "content", "status", "priority")} for row in rows
    ]
    return todos_from_json(raw)


async def replace_todos(
    store: Store, session_id: str, todos: list[Todo], call_id: str | None = None
) -> None:
    """Replace the session's list; the caller holds a transaction (or accepts two writes)."""
    now = time.time()
    await store.execute("DELETE FROM todo WHERE session_id = ?", (session_id,))
    await store.executemany(
        "INSERT INTO todo (session_id, position, id, content, status, priority, call_id,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (session_id, i, t.id, t.content, t.status, t.priority, call_id, now)
            for i, t in enumerate(todos)
        ],
    )


async def copy_todos(store: Store, source_id: str, session_id: str) -> None:
    """A fork starts with its source's list."""
    await store.execute(
        "INSERT INTO todo (session_id, position, id, content, status, priority, call_id,"
        " updated_at) SELECT ?, position, id, content, status, priority, call_id, updated_at"
        " FROM todo WHERE session_id = ?",
        (session_id, source_id),
    )


async def visible_todos(store: Store, session_id: str) -> tuple[list[Todo], str]:
    """The list as the last successful ``todowrite`` among the session's messages that are
    not rewound left it, and that call's id; ``([], "")`` when none wrote one."""
    row = await store.fetchone(
        "SELECT p.tool_call_id, p.metadata FROM part p JOIN message m ON m.id = p.message_id"
        " WHERE m.session_id = ? AND m.rewound_at IS NULL AND p.kind = 'tool_result'"
        " AND p.tool_name = 'todowrite' AND p.status = 'completed'"
        " ORDER BY m.id DESC, p.seq DESC LIMIT 1",
        (session_id,),
    )
    if row is None:
        return [], ""
    try:
        metadata = json.loads(row["metadata"] or "{}")
    except json.JSONDecodeError:
        metadata = {}
    raw = metadata.get("todos") if isinstance(metadata, dict) else None
    return todos_from_json(raw), row["tool_call_id"] or ""
