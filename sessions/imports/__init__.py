"""Sessions brought in from other tools (``opencode session import claude|codex|opencode``).

Each reader (``claude``, ``codex``, ``opencode_ts``) turns its tool's files into
``ImportedSession`` records; ``write`` stores them. Nothing is dropped: a record a reader does
not turn into a message or part is kept verbatim in ``import_raw`` and counted in the report.

Imports are idempotent: a session's id, and its messages' and parts' ids, are derived from the
source's own ids (``import_source`` maps them), and rows are inserted with ``OR IGNORE``, so a
second import of the same file adds nothing and a grown file adds only what is new. Message ids
keep this store's ordering (time first), taken from the source's timestamps.

Imported rows are written here directly (like ``SessionRepo.create``): no run is streaming into
these sessions, so there are no events to replay.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from opencode.sessions.store.db import Store

SOURCES = ("claude", "codex", "opencode")


@dataclass(slots=True)
class ImportedPart:
    kind: str  # text | reasoning | tool_call | tool_result | error
    content: str = ""
    tool_name: str | None = None
    tool_call_id: str | None = None
    tool_args: str | None = None
    status: str = "done"
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ImportedMessage:
    key: str  # the source's id for it (stable across imports)
    role: str  # user | assistant
    created_at: float
    parts: list[ImportedPart] = field(default_factory=list)
    model: str | None = None
    finish: str = "stop"
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(slots=True)
class RawRecord:
    line: int | None
    record_type: str
    raw: str


@dataclass(slots=True)
class ImportedSession:
    source: str
    source_id: str
    path: str
    cwd: str
    title: str = ""
    model: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    messages: list[ImportedMessage] = field(default_factory=list)
    raw: list[RawRecord] = field(default_factory=list)


@dataclass(slots=True)
class ImportReport:
    source: str
    files: int = 0
    sessions_new: int = 0
    sessions_updated: int = 0
    sessions_unchanged: int = 0
    messages: int = 0
    parts: int = 0
    raw: Counter[str] = field(default_factory=Counter)
    # Files that could not be read at all (not JSON, permission): path -> why.
    failed: dict[str, str] = field(default_factory=dict)
    session_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "files": self.files,
            "sessions_new": self.sessions_new,
            "sessions_updated": self.sessions_updated,
            "sessions_unchanged": self.sessions_unchanged,
            "messages": self.messages,
            "parts": self.parts,
            "kept_raw": dict(sorted(self.raw.items())),
            "failed": self.failed,
            "session_ids": self.session_ids,
        }


def parse_time(value: Any) -> float | None:
    """ISO 8601 (``...Z``) or epoch seconds / milliseconds → unix seconds."""
    if isinstance(value, int | float) and value > 0:
        return value / 1000 if value > 1e11 else float(value)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_text(value: Any) -> str:
    """Tool output in whatever shape a source stored it, as text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = [b.get("text") for b in value if isinstance(b, dict)]
        if texts and all(isinstance(t, str) for t in texts):
            return "\n".join(t for t in texts if isinstance(t, str))
    return json.dumps(value, ensure_ascii=False)


async def write(
    store: Store,
    imported: ImportedSession,
    report: ImportReport,
    secrets: tuple[str, ...] = (),
) -> str:
    """Store one session (new, or the records it gained since the last import). Text is
    scrubbed of secrets (this process's secret environment values, ``secrets``, URL
    passwords) on the way in, as live tool output is."""
    from opencode.sessions.secrets import scrub

    def clean(text: str | None) -> str | None:
        return scrub(text, secrets) if text else text

    row = await store.fetchone(
        "SELECT session_id FROM import_source WHERE source = ? AND source_id = ?",
        (imported.source, imported.source_id),
    )
    session_id = row[0] if row else "ses_imp" + _digest(imported.source, imported.source_id)[:20]
    now = time.time()
    created = imported.created_at or now
    updated = max(imported.updated_at, created)
    added_messages = added_parts = 0
    async with store.transaction():
        if row is None:
            await store.execute(
                "INSERT OR IGNORE INTO session (id, title, cwd, model, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, imported.title, imported.cwd, imported.model, created, updated),
            )
            await store.execute(
                "INSERT INTO import_source (source, source_id, session_id, path, imported_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (imported.source, imported.source_id, session_id, imported.path, now),
            )
        last_micros = 0
        for message in imported.messages:
            micros = max(int(message.created_at * 1_000_000), last_micros + 1)
            last_micros = micros
            suffix = _digest(session_id, message.key)[:8]
            message_id = f"msg_{micros:012x}{suffix}"
            added = await _inserted(
                store,
                "INSERT OR IGNORE INTO message (id, session_id, role, model, finish,"
                " input_tokens, output_tokens, created_at, finished_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    message_id,
                    session_id,
                    message.role,
                    message.model,
                    message.finish,
                    message.input_tokens,
                    message.output_tokens,
                    message.created_at,
                    message.created_at,
                ),
            )
            added_messages += 1 if added else 0
            for seq, part in enumerate(message.parts, start=1):
                meta = json.dumps({**part.metadata, "imported_from": imported.source})
                added = await _inserted(
                    store,
                    "INSERT OR IGNORE INTO part (id, message_id, session_id, seq, kind, content,"
                    " tool_name, tool_call_id, tool_args, status, metadata, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        f"prt_{micros:012x}{suffix}{seq:04d}",
                        message_id,
                        session_id,
                        seq,
                        part.kind,
                        clean(part.content),
                        part.tool_name,
                        part.tool_call_id,
                        clean(part.tool_args),
                        part.status,
                        meta,
                        message.created_at,
                        message.created_at,
                    ),
                )
                added_parts += 1 if added else 0
        for record in imported.raw:
            key = f"{record.line}:{_digest(record.raw)[:16]}"
            await store.execute(
                "INSERT OR IGNORE INTO import_raw"
                " (session_id, source, line, record_type, raw, key) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    imported.source,
                    record.line,
                    record.record_type,
                    clean(record.raw),
                    key,
                ),
            )
            report.raw[record.record_type] += 1
        if added_messages:
            # Token totals as the source reported them per message (0 where it did not).
            await store.execute(
                "UPDATE session SET updated_at = MAX(updated_at, ?),"
                " input_tokens = (SELECT COALESCE(SUM(input_tokens), 0) FROM message"
                "  WHERE session_id = ?),"
                " output_tokens = (SELECT COALESCE(SUM(output_tokens), 0) FROM message"
                "  WHERE session_id = ?) WHERE id = ?",
                (updated, session_id, session_id, session_id),
            )
    if row is None:
        report.sessions_new += 1
    elif added_messages or added_parts:
        report.sessions_updated += 1
    else:
        report.sessions_unchanged += 1
    report.messages += added_messages
    report.parts += added_parts
    report.session_ids.append(session_id)
    return session_id


async def _inserted(store: Store, sql: str, params: tuple[Any, ...]) -> bool:
    """Run an ``INSERT OR IGNORE``; True when it added a row (``lastrowid`` cannot say)."""
    await store.execute(sql, params)
    row = await store.fetchone("SELECT changes()")
    return bool(row and row[0])


def read_jsonl(path: Path) -> list[tuple[int, Any | None, str]]:
    """(line number, parsed value or None when it is not JSON, the raw line) per line."""
    out: list[tuple[int, Any | None, str]] = []
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                out.append((number, json.loads(line), line.rstrip("\n")))
            except json.JSONDecodeError:
                out.append((number, None, line.rstrip("\n")))
    return out
