"""The store under concurrent openers, foreign versions, a held lock and a full disk.

The process tests fork real processes that open the same SQLite file at the same instant
(a barrier releases them together), round after round, on a fresh and on an old-version file.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import threading
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from opencode.sessions.store import db as store_db
from opencode.sessions.store.db import Store, StoreError, migrations

PROCESSES = 10
ROUNDS = 20
LATEST = migrations()[-1][0]
OLD_VERSION = 2


def _open_once(path: str, barrier: Barrier, errors: multiprocessing.Queue[str]) -> None:
    async def go() -> None:
        store = await Store.open(Path(path), on_wait=lambda line: None)
        try:
            await store.execute(
                "INSERT INTO session (id, cwd, created_at, updated_at) VALUES (?, '/', 0, 0)",
                (f"p{os.getpid()}",),
            )
        finally:
            await store.close()

    barrier.wait()
    try:
        asyncio.run(go())
    except BaseException as exc:  # reported to the parent; the exit code says it failed
        errors.put(f"{type(exc).__name__}: {exc}")
        os._exit(1)
    os._exit(0)


def _old_database(path: Path) -> None:
    """A file as an older opencode left it: only the first migrations applied, with data."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        for number, migration in migrations()[:OLD_VERSION]:
            conn.executescript(migration.read_text(encoding="utf-8"))
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute(
            "INSERT INTO session (id, title, cwd, created_at, updated_at)"
            " VALUES ('old', 'from v2', '/', 0, 0)"
        )
    finally:
        conn.close()


def _race(path: Path) -> list[str]:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(PROCESSES)
    errors: multiprocessing.Queue[str] = ctx.Queue()
    procs = [
        ctx.Process(target=_open_once, args=(str(path), barrier, errors)) for _ in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=90)
    failures = [f"exit {p.exitcode}" for p in procs if p.exitcode != 0]
    while not errors.empty():
        failures.append(errors.get())
    return failures


def _version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.fault
def test_processes_starting_together_on_a_fresh_file_all_succeed(tmp_path: Path) -> None:
    for round_ in range(ROUNDS):
        path = tmp_path / f"fresh{round_}" / "opencode.db"
        assert _race(path) == [], f"round {round_}"
        assert _version(path) == LATEST
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("SELECT count(*) FROM session").fetchone()[0] == PROCESSES
        finally:
            conn.close()
        assert not list(path.parent.glob("*.bak-*")), "a new file needs no backup"


@pytest.mark.fault
def test_processes_upgrading_an_old_file_together_keep_one_true_backup(tmp_path: Path) -> None:
    for round_ in range(ROUNDS):
        folder = tmp_path / f"old{round_}"
        folder.mkdir()
        path = folder / "opencode.db"
        _old_database(path)
        assert _race(path) == [], f"round {round_}"
        assert _version(path) == LATEST
        backup = folder / f"opencode.db.bak-v{OLD_VERSION}"
        assert _version(backup) == OLD_VERSION, f"round {round_}: the backup was migrated"
        conn = sqlite3.connect(backup)
        try:
            assert conn.execute("SELECT title FROM session").fetchall() == [("from v2",)]
        finally:
            conn.close()
        leftovers = sorted(p.name for p in folder.iterdir() if "bak" in p.name)
        assert leftovers == [backup.name], f"round {round_}: {leftovers}"


async def test_a_file_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    await (await Store.open(path)).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError) as info:
        await Store.open(path)
    assert info.value.kind == "newer_version"
    message = str(info.value)
    assert "schema version 99" in message and f"versions up to {LATEST}" in message
    assert str(path) in message and "Upgrade opencode" in message
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("new.db.bak-*"))


async def test_an_existing_backup_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_database(path)
    backup = tmp_path / f"old.db.bak-v{OLD_VERSION}"
    backup.write_bytes(b"an earlier backup the user kept")
    await (await Store.open(path)).close()
    assert _version(path) == LATEST
    assert backup.read_bytes() == b"an earlier backup the user kept"


def _hold_write_lock(path: Path, seconds: float) -> threading.Thread:
    """Another connection holds the write lock for ``seconds`` (started before returning)."""
    ready = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN IMMEDIATE")
        ready.set()
        threading.Event().wait(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    ready.wait()
    return thread


async def test_a_held_lock_is_waited_for_with_one_notice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_db, "BUSY_SLICE_MS", 100)
    path = tmp_path / "busy.db"
    notices: list[str] = []
    store = await Store.open(path, on_wait=notices.append)
    try:
        holder = _hold_write_lock(path, 0.8)
        await store.execute(
            "INSERT INTO session (id, cwd, created_at, updated_at) VALUES ('s', '/', 0, 0)"
        )
        holder.join()
        assert await store.fetchone("SELECT id FROM session") is not None
    finally:
        await store.close()
    assert notices == [f"waiting for the database {path} (held by another opencode process)…"]


async def test_the_wait_is_bounded_then_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_db, "BUSY_SLICE_MS", 50)
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 300)
    path = tmp_path / "held.db"
    store = await Store.open(path, on_wait=lambda line: None)
    holder = _hold_write_lock(path, 1)
    try:
        with pytest.raises(StoreError) as info:
            async with store.transaction():
                pass
        assert info.value.kind == "locked"
        assert "locked by another process" in str(info.value) and str(path) in str(info.value)
    finally:
        await store.close()
        holder.join()


def test_the_cli_says_it_is_waiting_then_succeeds(tmp_path: Path) -> None:
    path = Path(os.environ["OPENCODE_DATA_DIR"]) / "opencode.db"
    asyncio.run(_create(path))
    release = threading.Event()
    ready = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN IMMEDIATE")
        ready.set()
        release.wait(30)
        conn.execute("ROLLBACK")
        conn.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    ready.wait()
    proc = subprocess.Popen(
        [sys.executable, "-m", "opencode.commands.cli", "session", "list"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # blocks until the notice (or the process ends)
        release.set()
        out, err = proc.communicate(timeout=60)
    finally:
        release.set()
        holder.join()
    assert line == f"waiting for the database {path} (held by another opencode process)…\n"
    assert proc.returncode == 0, err
    assert "No sessions yet" in out and "Traceback" not in err


async def _create(path: Path) -> None:
    await (await Store.open(path)).close()


async def test_disk_full_is_one_clear_store_error(tmp_path: Path) -> None:
    # SQLITE_FULL for real: SQLite answers "database or disk is full" when the file may not
    # grow past max_page_count, exactly as when the disk has no room left.
    path = tmp_path / "full.db"
    store = await Store.open(path)
    try:
        pages = await store.fetchone("PRAGMA page_count")
        assert pages is not None
        await store.execute(f"PRAGMA max_page_count = {int(pages[0])}")
        with pytest.raises(StoreError) as info:
            await store.execute(
                "INSERT INTO session (id, title, cwd, created_at, updated_at)"
                " VALUES ('s', ?, '/', 0, 0)",
                ("x" * 200_000,),
            )
    finally:
        await store.close()
    assert info.value.kind == "disk_full"
    assert str(info.value).startswith(f"disk full writing {path}; ")
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)


def test_the_cli_refuses_a_newer_file_with_both_versions(tmp_path: Path) -> None:
    path = Path(os.environ["OPENCODE_DATA_DIR"]) / "opencode.db"
    asyncio.run(_create(path))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    proc = subprocess.run(
        [sys.executable, "-m", "opencode.commands.cli", "session", "list"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert f"database {path} is at schema version 99" in proc.stderr
    assert f"knows versions up to {LATEST}" in proc.stderr and "Traceback" not in proc.stderr
    assert _version(path) == 99


async def test_a_failed_backup_stops_the_upgrade_with_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_database(path)
    # Something the backup cannot write over (a folder where its temporary file goes).
    blocker = tmp_path / f"old.db.bak-v{OLD_VERSION}.partial-{os.getpid()}"
    (blocker / "inside").mkdir(parents=True)
    with pytest.raises(StoreError) as info:
        await Store.open(path)
    assert str(info.value).startswith(f"cannot back up {path} to {path}.bak-v{OLD_VERSION} ")
    assert "the database was not changed" in str(info.value)
    assert _version(path) == OLD_VERSION
    assert not (tmp_path / f"old.db.bak-v{OLD_VERSION}").exists()
