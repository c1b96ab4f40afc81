"""The SQLite database: one long-lived aiosqlite connection, WAL, numbered migrations.

Migrations are the files ``migrations/NNNN_name.sql``; ``PRAGMA user_version`` records the last
one applied. Before migrating an existing file it is copied aside (``NAME.bak-vN``), and each
migration runs in one transaction, so a failed migration leaves the database as it was.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
BUSY_TIMEOUT_MS = 5000
T = TypeVar("T")


class StoreError(Exception):
    """The database cannot be used; the message names the file and what to do."""


def migrations() -> list[tuple[int, Path]]:
    found = []
    for path in MIGRATIONS_DIR.iterdir():
        match = _MIGRATION_NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    found.sort()
    numbers = [n for n, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise StoreError(f"migrations in {MIGRATIONS_DIR} are not numbered 1..N: {numbers}")
    return found


def _explain(path: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreError(
            f"database {path} is locked by another process ({text}); "
            "close the other opencode instance or wait, then retry"
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StoreError(
            f"database {path} is damaged ({text}); move it aside (backups are kept beside it as "
            f"{path.name}.bak-v*) or set data_dir / $OPENCODE_DATA_DIR to a fresh folder"
        )
    return StoreError(f"database {path}: {text}")


class Store:
    """Owns the connection. Domain modules issue SQL through ``execute``/``fetch*``.

    Several tasks share the one connection (the TUI streams a turn while a slash command
    runs), so a transaction belongs to the task that opened it: a lock keeps other tasks'
    writes out of it until it commits or rolls back, and a rollback never takes their rows.
    """

    def __init__(self, path: Path, conn: aiosqlite.Connection) -> None:
        self.path = path
        self.conn = conn
        self._lock = asyncio.Lock()
        # True inside this store's transaction, in the task (context) that opened it.
        self._in_tx: ContextVar[bool] = ContextVar(f"store_tx_{id(self)}", default=False)

    @classmethod
    async def open(cls, path: Path) -> Store:
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create data directory {path.parent}: {exc}") from exc
        try:
            conn = await aiosqlite.connect(str(path), isolation_level=None)
        except sqlite3.Error as exc:
            raise _explain(path, exc) from exc
        conn.row_factory = aiosqlite.Row
        store = cls(path, conn)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await store._migrate()
        except sqlite3.Error as exc:
            await conn.close()
            raise _explain(path, exc) from exc
        except BaseException:
            await conn.close()
            raise
        return store

    async def close(self) -> None:
        await self.conn.close()

    async def _migrate(self) -> None:
        row = await (await self.conn.execute("PRAGMA user_version")).fetchone()
        current = int(row[0]) if row else 0
        pending = [(n, p) for n, p in migrations() if n > current]
        if not pending:
            return
        if current > 0:
            await self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            backup = self.path.with_name(f"{self.path.name}.bak-v{current}")
            shutil.copy2(self.path, backup)
        for number, path in pending:
            sql = path.read_text(encoding="utf-8")
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _split_sql(sql):
                    await self.conn.execute(statement)
                await self.conn.execute(f"PRAGMA user_version = {number}")
                await self.conn.execute("COMMIT")
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """A write transaction; nested uses in the same task join the outer one."""
        if self._in_tx.get():
            yield
            return
        async with self._lock:
            token = self._in_tx.set(True)
            try:
                await self._run(self.conn.execute("BEGIN IMMEDIATE"))
                try:
                    yield
                except BaseException:
                    await self.conn.execute("ROLLBACK")
                    raise
                await self._run(self.conn.execute("COMMIT"))
            finally:
                self._in_tx.reset(token)

    async def _run(self, awaitable: Awaitable[T]) -> T:
        """Await a statement; a locked or damaged file becomes a StoreError that says what to
        do. Constraint violations stay ``sqlite3.IntegrityError``: callers decide about those."""
        try:
            return await awaitable
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise _explain(self.path, exc) from exc

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return lastrowid (inserts) or rowcount."""
        if self._in_tx.get():
            return await self._execute(sql, params)
        async with self._lock:
            return await self._execute(sql, params)

    async def _execute(self, sql: str, params: Sequence[Any]) -> int:
        cursor = await self._run(self.conn.execute(sql, params))
        result = cursor.lastrowid if sql.lstrip().upper().startswith("INSERT") else cursor.rowcount
        await cursor.close()
        return int(result or 0)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        if self._in_tx.get():
            await self._run(self.conn.executemany(sql, rows))
            return
        async with self._lock:
            await self._run(self.conn.executemany(sql, rows))

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        cursor = await self._run(self.conn.execute(sql, params))
        rows = await cursor.fetchall()
        await cursor.close()
        return list(rows)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        cursor = await self._run(self.conn.execute(sql, params))
        row = await cursor.fetchone()
        await cursor.close()
        return row


def _split_sql(sql: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows about triggers)."""
    statements: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
