"""The SQLite database: one long-lived aiosqlite connection, WAL, numbered migrations.

Migrations are the files ``migrations/NNNN_name.sql``; ``PRAGMA user_version`` records the last
one applied. Opening is safe when many processes start at once on a fresh or an old file:
``user_version`` is read inside a ``BEGIN IMMEDIATE`` write lock, so exactly one process
migrates and the others then find nothing to do. Before migrating an existing file, and still
inside that lock, it is copied aside once per version (``NAME.bak-vN``, with the SQLite backup
API, written to a temporary name and renamed into place) and never overwritten afterwards.
Each migration is a savepoint in that transaction, so a failed migration leaves the file at
the version before it. A file from a newer opencode (``user_version`` above the last
migration) is refused.

Another process holding the lock is waited for, not failed on: after the first second a
notice ("waiting for the database ... held by another opencode process") goes to ``on_wait``,
and only after ``BUSY_TIMEOUT_MS`` in all does the wait end in a ``StoreError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiosqlite

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# How long, in all, to wait for another process's lock before giving up.
BUSY_TIMEOUT_MS = 60_000
# SQLite's own busy wait per try; after the first slice the wait is announced.
BUSY_SLICE_MS = 1_000
T = TypeVar("T")

StoreErrorKind = Literal["locked", "damaged", "disk_full", "newer_version", "other"]


class StoreError(Exception):
    """The database cannot be used; the message names the file and what to do.

    ``kind`` lets a caller that meets the same failure twice (a disk-full write, then the
    final flush on the way out) report it once, and pick its own wording around it."""

    def __init__(self, message: str, kind: StoreErrorKind = "other") -> None:
        super().__init__(message)
        self.kind: StoreErrorKind = kind


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


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc)
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _explain(path: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreError(
            f"database {path} is locked by another process ({text}; waited "
            f"{BUSY_TIMEOUT_MS / 1000:g} s); close the other opencode instance or wait, "
            "then retry",
            "locked",
        )
    if "disk is full" in text:
        return StoreError(
            f"disk full writing {path}; free space on that disk (or set data_dir / "
            "$OPENCODE_DATA_DIR to a folder on another disk) and retry",
            "disk_full",
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StoreError(
            f"database {path} is damaged ({text}); move it aside (backups are kept beside it as "
            f"{path.name}.bak-v*) or set data_dir / $OPENCODE_DATA_DIR to a fresh folder",
            "damaged",
        )
    return StoreError(f"database {path}: {text}")


def _stderr_notice(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def backup_path(path: Path, version: int) -> Path:
    return path.with_name(f"{path.name}.bak-v{version}")


def _copy_database(source: Path, target: Path) -> None:
    """Copy ``source`` (its committed state, WAL included) to ``target`` atomically: the SQLite
    backup API into a temporary file, then a rename, so ``target`` is never half written."""
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    try:
        partial.unlink(missing_ok=True)
        src = sqlite3.connect(source)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        reason = _explain(target, exc) if isinstance(exc, sqlite3.Error) else None
        raise StoreError(
            f"cannot back up {source} to {target} before upgrading it "
            f"({reason or exc}); the database was not changed. Free space there, then retry",
            reason.kind if reason else "other",
        ) from exc


async def _settled(statement: Awaitable[T]) -> T:
    """Await one statement (BEGIN, COMMIT, ROLLBACK) that runs to its end even if this task
    is cancelled meanwhile; then return its result (or raise its error), and only after that
    raise the cancellation, if one came.

    Under anyio (the proxy's request tasks) cancellation is level-triggered: every await in a
    cancelled scope raises again, so a single ``await asyncio.shield(...)`` would return at
    once while the statement still runs, and the caller would go on (release the store's
    lock, test ``in_transaction``) before it ended. The statement therefore runs as its own
    task and this waits on it in a loop until it is done, whatever arrives meanwhile.
    """
    running = asyncio.ensure_future(statement)
    cancelled: asyncio.CancelledError | None = None
    while not running.done():
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError as exc:
            if running.cancelled():  # the statement itself was cancelled: nothing to wait for
                raise
            cancelled = cancelled or exc
    if cancelled is not None:
        running.exception()  # retrieved (and superseded by the cancellation) so none is logged
        raise cancelled
    return running.result()


class Store:
    """Owns the connection. Domain modules issue SQL through ``execute``/``fetch*``.

    Several tasks share the one connection (the TUI streams a turn while a slash command
    runs), so a transaction belongs to the task that opened it: a lock keeps other tasks'
    writes out of it until it commits or rolls back, and a rollback never takes their rows.
    """

    def __init__(
        self,
        path: Path,
        conn: aiosqlite.Connection,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self.conn = conn
        self.on_wait = on_wait or _stderr_notice
        self._lock = asyncio.Lock()
        # True inside this store's transaction, in the task (context) that opened it.
        self._in_tx: ContextVar[bool] = ContextVar(f"store_tx_{id(self)}", default=False)

    @classmethod
    async def open(cls, path: Path, *, on_wait: Callable[[str], None] | None = None) -> Store:
        """Open (creating and migrating as needed). ``on_wait`` gets the one-line notice when
        another process holds the database for more than a moment (default: stderr)."""
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
        store = cls(path, conn, on_wait)
        try:
            slice_ms = min(BUSY_SLICE_MS, BUSY_TIMEOUT_MS)
            await conn.execute(f"PRAGMA busy_timeout = {int(slice_ms)}")
            await store._retry(lambda: conn.execute("PRAGMA journal_mode = WAL"))
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

    async def _retry(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run ``make()``; while another process holds the lock, try again (SQLite waits a
        slice each time), announcing the wait once, until ``BUSY_TIMEOUT_MS`` in all."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        announced = False
        while True:
            try:
                return await make()
            except sqlite3.Error as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
                if not announced:
                    announced = True
                    self.on_wait(
                        f"waiting for the database {self.path} (held by another opencode process)…"
                    )
                # Some busy answers come back at once (WAL recovery): never spin hot.
                await asyncio.sleep(0.02)

    async def _migrate(self) -> None:
        """Apply pending migrations under one write lock, with ``user_version`` read inside
        it: concurrent openers take turns, and the ones that waited find nothing to do (and
        never see, nor back up, a half-migrated file). Each migration is a savepoint, so a
        failing one leaves the file at the version before it."""
        known = migrations()
        latest = known[-1][0] if known else 0
        await self._retry(lambda: self.conn.execute("BEGIN IMMEDIATE"))
        try:
            row = await (await self.conn.execute("PRAGMA user_version")).fetchone()
            current = int(row[0]) if row else 0
            if current > latest:
                raise StoreError(
                    f"database {self.path} is at schema version {current}, but this "
                    f"opencode knows versions up to {latest}: a newer opencode wrote it. "
                    "Upgrade opencode, or set data_dir / $OPENCODE_DATA_DIR to another "
                    "folder; the file was not changed",
                    "newer_version",
                )
            pending = [(n, p) for n, p in known if n > current]
            if not pending:
                await self.conn.execute("ROLLBACK")
                return
            if current > 0:
                backup = backup_path(self.path, current)
                # Once per version: a later run must never replace the pre-upgrade copy.
                if not backup.exists():
                    await asyncio.to_thread(_copy_database, self.path, backup)
            failure: BaseException | None = None
            for number, path in pending:
                await self.conn.execute("SAVEPOINT migration")
                try:
                    for statement in _split_sql(path.read_text(encoding="utf-8")):
                        await self.conn.execute(statement)
                    await self.conn.execute(f"PRAGMA user_version = {number}")
                except Exception as exc:
                    await self.conn.execute("ROLLBACK TO migration")
                    await self.conn.execute("RELEASE migration")
                    failure = exc
                    break
                await self.conn.execute("RELEASE migration")
            # Keep the migrations that succeeded; then report the one that did not.
            await self._retry(lambda: self.conn.execute("COMMIT"))
            if failure is not None:
                raise failure
        except BaseException:
            if self.conn.in_transaction:
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
                # From BEGIN to COMMIT/ROLLBACK nothing may leave the shared connection inside
                # an open transaction once the lock is released: each statement runs to its
                # end even when this task is cancelled (BEGIN included: aiosqlite's thread
                # runs it anyway), and whatever ends the block early rolls back first.
                await self._run(lambda: _settled(self.conn.execute("BEGIN IMMEDIATE")))
                yield
                await self._run(lambda: _settled(self.conn.execute("COMMIT")))
            except BaseException:
                if self.conn.in_transaction:
                    await _settled(self.conn.execute("ROLLBACK"))
                raise
            finally:
                self._in_tx.reset(token)

    async def _run(self, make: Callable[[], Awaitable[T]]) -> T:
        """Await a statement (retried while another process holds the lock); a locked, full
        or damaged file becomes a StoreError that says what to do. Constraint violations stay
        ``sqlite3.IntegrityError``: callers decide about those."""
        try:
            return await self._retry(make)
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
        cursor = await self._run(lambda: self.conn.execute(sql, params))
        result = cursor.lastrowid if sql.lstrip().upper().startswith("INSERT") else cursor.rowcount
        await cursor.close()
        return int(result or 0)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = list(rows)  # a retry must see the same rows again
        if self._in_tx.get():
            await self._run(lambda: self.conn.executemany(sql, batch))
            return
        async with self._lock:
            await self._run(lambda: self.conn.executemany(sql, batch))

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        cursor = await self._run(lambda: self.conn.execute(sql, params))
        rows = await cursor.fetchall()
        await cursor.close()
        return list(rows)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        cursor = await self._run(lambda: self.conn.execute(sql, params))
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
