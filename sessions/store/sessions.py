"""Sessions, messages and parts: rows in, records out.

Live sessions are written only by ``writer.StoreWriter``, the bus's store subscriber; this
module owns the row <-> record conversion and the queries the runner, the CLI and the TUI
need. Its writes are ``create`` (seeding a store outside any run: tests, imports) and the
undo data ``record_file_change`` (a before-image must be on disk before a tool changes the
file, so it cannot wait for an event).
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opencode.sessions.ids import new_id
from opencode.sessions.store.db import Store


@dataclass(slots=True)
class SessionRecord:
    id: str
    parent_id: str | None
    title: str
    cwd: str
    model: str
    input_tokens: int
    output_tokens: int
    cost: float
    created_at: float
    updated_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent_id": self.parent_id,
            "title": self.title,
            "cwd": self.cwd,
            "model": self.model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost": self.cost,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(slots=True)
class PartRecord:
    id: str
    message_id: str
    seq: int
    kind: str
    content: str
    tool_name: str | None
    tool_call_id: str | None
    tool_args: str | None
    status: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "kind": self.kind,
            "content": self.content,
            "tool_name": self.tool_name,
            "tool_call_id": self.tool_call_id,
            "tool_args": self.tool_args,
            "status": self.status,
            "metadata": self.metadata,
        }


@dataclass(slots=True)
class MessageRecord:
    id: str
    session_id: str
    role: str
    model: str | None
    finish: str | None
    input_tokens: int | None
    output_tokens: int | None
    created_at: float
    parts: list[PartRecord] = field(default_factory=list)
    # Set when a conversation rewind took this message out of history (the row stays).
    rewound_at: float | None = None
    # What answering it cost (None: unknown — no price for the model that answered).
    cost: float | None = None

    @property
    def interrupted(self) -> bool:
        """Streaming never finished (killed process) or was cancelled."""
        return self.finish in (None, "interrupted")

    def text(self) -> str:
        return "".join(p.content for p in self.parts if p.kind == "text")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role,
            "model": self.model,
            "finish": self.finish if self.finish is not None else "interrupted",
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost": self.cost,
            "created_at": self.created_at,
            "parts": [p.to_dict() for p in self.parts],
            **({"rewound_at": self.rewound_at} if self.rewound_at is not None else {}),
        }


def _session(row: sqlite3.Row) -> SessionRecord:
    return SessionRecord(
        id=row["id"],
        parent_id=row["parent_id"],
        title=row["title"],
        cwd=row["cwd"],
        model=row["model"],
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        cost=row["cost"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _part(row: sqlite3.Row) -> PartRecord:
    return PartRecord(
        id=row["id"],
        message_id=row["message_id"],
        seq=row["seq"],
        kind=row["kind"],
        content=row["content"],
        tool_name=row["tool_name"],
        tool_call_id=row["tool_call_id"],
        tool_args=row["tool_args"],
        status=row["status"],
        metadata=json.loads(row["metadata"]) if row["metadata"] else {},
    )


# Empty session rows (left by versions that wrote the row before the first message) are never
# listed or resumed with -c; ``get`` by id still finds them.
_HAS_MESSAGE = "EXISTS (SELECT 1 FROM message m WHERE m.session_id = session.id)"
# Soft-deleted sessions (``session delete``) are hidden from list, search and -c until purged.
_HAS_MESSAGE += " AND session.deleted_at IS NULL"


def new_record(cwd: Path | str, model: str, title: str, parent_id: str | None) -> SessionRecord:
    """A new session's record (fresh id, no usage yet), before it is stored."""
    now = time.time()
    return SessionRecord(
        id=new_id("ses"),
        parent_id=parent_id,
        title=title,
        cwd=str(cwd),
        model=model,
        input_tokens=0,
        output_tokens=0,
        cost=0.0,
        created_at=now,
        updated_at=now,
    )


class SessionRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(
        self, *, cwd: Path | str, model: str, title: str = "", parent_id: str | None = None
    ) -> SessionRecord:
        """Insert a session row directly, for seeding a store; a run's sessions are created
        through ``SessionCreated`` events instead."""
        record = new_record(cwd, model, title, parent_id)
        now = record.created_at
        await self.store.execute(
            "INSERT INTO session (id, parent_id, title, cwd, model, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (record.id, parent_id, title, record.cwd, model, now, now),
        )
        return record

    async def get(self, session_id: str) -> SessionRecord | None:
        row = await self.store.fetchone("SELECT * FROM session WHERE id = ?", (session_id,))
        if row is None:
            # Accept a unique prefix, as git does for hashes.
            escaped = session_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            rows = await self.store.fetchall(
                "SELECT * FROM session WHERE id LIKE ? ESCAPE '\\' LIMIT 2", (escaped + "%",)
            )
            row = rows[0] if len(rows) == 1 else None
        return _session(row) if row else None

    async def children_of_call(self, parent_id: str, call_id: str) -> builtins.list[SessionRecord]:
        """The subagent sessions that ``parent_id``'s ``task`` call ``call_id`` ran (oldest
        first): how a call interrupted before it stored its result finds its child."""
        rows = await self.store.fetchall(
            "SELECT * FROM session WHERE parent_id = ? AND parent_call_id = ?"
            " ORDER BY created_at, id",
            (parent_id, call_id),
        )
        return [_session(row) for row in rows]

    async def latest(self, cwd: Path | str) -> SessionRecord | None:
        """The most recently active session here that has a message (what ``-c`` resumes)."""
        row = await self.store.fetchone(
            f"SELECT * FROM session WHERE cwd = ? AND {_HAS_MESSAGE}"
            " ORDER BY updated_at DESC, id DESC LIMIT 1",
            (str(cwd),),
        )
        return _session(row) if row else None

    async def list(
        self, cwd: Path | str | None = None, limit: int = 50
    ) -> builtins.list[SessionRecord]:
        """Sessions with at least one message, most recently active first."""
        if cwd is None:
            rows = await self.store.fetchall(
                f"SELECT * FROM session WHERE {_HAS_MESSAGE}"
                " ORDER BY updated_at DESC, id DESC LIMIT ?",
                (limit,),
            )
        else:
            rows = await self.store.fetchall(
                f"SELECT * FROM session WHERE cwd = ? AND {_HAS_MESSAGE}"
                " ORDER BY updated_at DESC, id DESC LIMIT ?",
                (str(cwd), limit),
            )
        return [_session(r) for r in rows]

    async def list_with_counts(
        self, cwd: Path | str, limit: int = 50
    ) -> builtins.list[tuple[SessionRecord, int]]:
        """``list(cwd, limit)`` with each session's message count (rewound ones left out), in
        one query: a picker of 100 sessions costs one round trip, not 101."""
        rows = await self.store.fetchall(
            "SELECT session.*, (SELECT COUNT(*) FROM message c WHERE c.session_id = session.id"
            " AND c.rewound_at IS NULL) AS message_count FROM session WHERE cwd = ? AND"
            f" {_HAS_MESSAGE} ORDER BY updated_at DESC, id DESC LIMIT ?",
            (str(cwd), limit),
        )
        return [(_session(r), int(r["message_count"])) for r in rows]

    async def count_messages(self, session_id: str, *, include_rewound: bool = False) -> int:
        visible = "" if include_rewound else " AND rewound_at IS NULL"
        row = await self.store.fetchone(
            f"SELECT COUNT(*) FROM message WHERE session_id = ?{visible}", (session_id,)
        )
        return int(row[0]) if row else 0

    async def messages(
        self,
        session_id: str,
        *,
        limit: int | None = None,
        before: str | None = None,
        include_rewound: bool = False,
    ) -> builtins.list[MessageRecord]:
        """Messages oldest first, with their parts. With ``limit``: the last ``limit`` messages
        (before message id ``before`` if given), still oldest first. Messages a rewind took
        out of the conversation are left out unless ``include_rewound``."""
        where, params = "session_id = ?", [session_id]
        if not include_rewound:
            where += " AND rewound_at IS NULL"
        if before is not None:
            where += " AND id < ?"
            params.append(before)
        if limit is None:
            rows = await self.store.fetchall(
                f"SELECT * FROM message WHERE {where} ORDER BY id", params
            )
        else:
            rows = await self.store.fetchall(
                f"SELECT * FROM (SELECT * FROM message WHERE {where} ORDER BY id DESC LIMIT ?)"
                " ORDER BY id",
                [*params, limit],
            )
        messages = [
            MessageRecord(
                id=r["id"],
                session_id=r["session_id"],
                role=r["role"],
                model=r["model"],
                finish=r["finish"],
                input_tokens=r["input_tokens"],
                output_tokens=r["output_tokens"],
                created_at=r["created_at"],
                rewound_at=r["rewound_at"],
                cost=r["cost"],
            )
            for r in rows
        ]
        if not messages:
            return messages
        by_id = {m.id: m for m in messages}
        part_rows = await self.store.fetchall(
            "SELECT * FROM part WHERE session_id = ? AND message_id BETWEEN ? AND ?"
            " ORDER BY message_id, seq",
            (session_id, messages[0].id, messages[-1].id),
        )
        for row in part_rows:
            message = by_id.get(row["message_id"])
            if message is not None:
                message.parts.append(_part(row))
        return messages

    async def session_grants(self, session_id: str) -> builtins.list[tuple[str, str]]:
        rows = await self.store.fetchall(
            "SELECT tool, subject FROM permission_decision"
            " WHERE session_id = ? AND decision = 'allow_session'",
            (session_id,),
        )
        return [(r["tool"], r["subject"]) for r in rows]

    async def record_file_change(
        self,
        session_id: str,
        call_id: str,
        path: Path,
        before: bytes | None,
        *,
        message_id: str | None = None,
        part_id: str | None = None,
        after_hash: str | None = None,
        source: str = "tool",
    ) -> None:
        await self.store.execute(
            "INSERT INTO file_change (session_id, call_id, path, existed, before, created_at,"
            " message_id, part_id, after_hash, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id,
                call_id,
                str(path),
                before is not None,
                before,
                time.time(),
                message_id,
                part_id,
                after_hash,
                source,
            ),
        )

    async def record_file_changes(
        self,
        session_id: str,
        call_id: str,
        changes: builtins.list[tuple[Path, bytes | None, str]],
        *,
        message_id: str | None,
        part_id: str | None,
        source: str,
    ) -> None:
        """Many before-images (path, before, after_hash) at once: what one bash call changed."""
        if not changes:
            return
        now = time.time()
        async with self.store.transaction():  # one commit for a large `rm -r`
            await self.store.executemany(
                "INSERT INTO file_change (session_id, call_id, path, existed, before,"
                " created_at, message_id, part_id, after_hash, source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        session_id,
                        call_id,
                        str(path),
                        before is not None,
                        before,
                        now,
                        message_id,
                        part_id,
                        after_hash,
                        source,
                    )
                    for path, before, after_hash in changes
                ],
            )

    async def set_after_hashes(self, session_id: str, call_id: str, hashes: dict[str, str]) -> None:
        """Record how a tool call left each file it changed (rewind's "changed since" check)."""
        await self.store.executemany(
            "UPDATE file_change SET after_hash = ?"
            " WHERE session_id = ? AND call_id = ? AND path = ? AND after_hash IS NULL",
            [(h, session_id, call_id, path) for path, h in hashes.items()],
        )

    async def file_changes(self, session_id: str) -> builtins.list[dict[str, Any]]:
        rows = await self.store.fetchall(
            "SELECT id, call_id, path, existed, before FROM file_change"
            " WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
        return [dict(r) for r in rows]

    # ------------------------------------------------------------------ rename, delete, purge
    # Direct writes like ``create``: these change no message or part, and no run is streaming
    # into the row (a session being written by a run keeps its own title in memory).

    async def rename(self, session_id: str, title: str) -> None:
        await self.store.execute(
            "UPDATE session SET title = ?, updated_at = ? WHERE id = ?",
            (title, time.time(), session_id),
        )

    async def soft_delete(self, session_id: str) -> None:
        """Hide a session from list, search and -c; ``purge`` removes it for good."""
        await self.store.execute(
            "UPDATE session SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
            (time.time(), session_id),
        )

    async def restore(self, session_id: str) -> None:
        await self.store.execute("UPDATE session SET deleted_at = NULL WHERE id = ?", (session_id,))

    async def is_deleted(self, session_id: str) -> bool:
        row = await self.store.fetchone(
            "SELECT deleted_at FROM session WHERE id = ?", (session_id,)
        )
        return row is not None and row[0] is not None

    async def purge(self, older_than_days: float | None = None) -> builtins.list[str]:
        """Remove soft-deleted sessions (deleted more than ``older_than_days`` ago, if given)
        with their messages, parts and index entries; return their ids."""
        cutoff = time.time() - older_than_days * 86400 if older_than_days is not None else None
        where, params = "deleted_at IS NOT NULL", []
        if cutoff is not None:
            where += " AND deleted_at <= ?"
            params.append(cutoff)
        rows = await self.store.fetchall(f"SELECT id FROM session WHERE {where}", params)
        ids = [r["id"] for r in rows]
        async with self.store.transaction():
            for sid in ids:
                # Parts first (their delete trigger drops the index entries), then the session.
                await self.store.execute("DELETE FROM part WHERE session_id = ?", (sid,))
                await self.store.execute("DELETE FROM session WHERE id = ?", (sid,))
        return ids
