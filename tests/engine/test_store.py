"""The SQLite store: migrations, backups before migrating, damaged and locked files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from opencode.sessions.store import db as store_db
from opencode.sessions.store.db import Store, StoreError, migrations
from opencode.sessions.store.sessions import SessionRepo


async def test_fresh_database_is_migrated_to_latest(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "a.db")
    try:
        row = await store.fetchone("PRAGMA user_version")
        assert row is not None and row[0] == migrations()[-1][0]
        mode = await store.fetchone("PRAGMA journal_mode")
        assert mode is not None and mode[0] == "wal"
        tables = {
            r[0] for r in await store.fetchall("SELECT name FROM sqlite_master WHERE type='table'")
        }
        assert {"session", "message", "part", "file_change", "permission_decision"} <= tables
    finally:
        await store.close()
    assert not list(tmp_path.glob("a.db.bak-*")), "a new database needs no backup"


async def test_existing_database_is_copied_aside_before_migrating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.db"
    store = await Store.open(path)
    repo = SessionRepo(store)
    record = await repo.create(cwd=tmp_path, model="x/y", title="keep me")
    await store.close()

    extra = tmp_path / "migrations"
    extra.mkdir()
    for _, migration in migrations():
        (extra / migration.name).write_text(migration.read_text())
    version = len(migrations())
    (extra / f"{version + 1:04d}_extra.sql").write_text("CREATE TABLE extra (x INTEGER);\n")
    monkeypatch.setattr(store_db, "MIGRATIONS_DIR", extra)

    store = await Store.open(path)
    try:
        assert (await store.fetchone("PRAGMA user_version"))[0] == version + 1  # type: ignore[index]
        assert (await SessionRepo(store).get(record.id)) is not None
    finally:
        await store.close()
    backup = tmp_path / f"a.db.bak-v{version}"
    assert backup.exists()
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == version
        assert conn.execute("SELECT title FROM session").fetchone()[0] == "keep me"


async def test_failed_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "migrations"
    extra.mkdir()
    for _, migration in migrations():
        (extra / migration.name).write_text(migration.read_text())
    version = len(migrations())
    (extra / f"{version + 1:04d}_broken.sql").write_text(
        "CREATE TABLE half (x INTEGER);\nINSERT INTO nowhere VALUES (1);\n"
    )
    monkeypatch.setattr(store_db, "MIGRATIONS_DIR", extra)
    with pytest.raises(StoreError, match="no such table: nowhere"):
        await Store.open(tmp_path / "b.db")
    with sqlite3.connect(tmp_path / "b.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == version
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "half" not in names


async def test_damaged_file_gives_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError) as info:
        await Store.open(path)
    message = str(info.value)
    assert str(path) in message
    assert "damaged" in message and "OPENCODE_DATA_DIR" in message
    assert path.read_bytes().startswith(b"this is not sqlite"), "the file must be left untouched"


async def test_locked_database_gives_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "locked.db"
    await (await Store.open(path)).close()  # create it
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 100)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        extra = tmp_path / "migrations"
        extra.mkdir()
        for _, migration in migrations():
            (extra / migration.name).write_text(migration.read_text())
        (extra / f"{len(migrations()) + 1:04d}_x.sql").write_text("CREATE TABLE x (a);\n")
        monkeypatch.setattr(store_db, "MIGRATIONS_DIR", extra)
        with pytest.raises(StoreError, match="locked by another process"):
            await Store.open(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "t.db")
    try:
        with pytest.raises(RuntimeError):
            async with store.transaction():
                await store.execute(
                    "INSERT INTO session (id, cwd, created_at, updated_at) VALUES ('s', '/', 0, 0)"
                )
                raise RuntimeError("boom")
        assert await store.fetchone("SELECT id FROM session") is None
    finally:
        await store.close()


async def test_a_rollback_never_takes_another_tasks_writes(tmp_path: Path) -> None:
    """The TUI streams a turn (writer) while a slash command runs a transaction that fails."""
    import asyncio

    store = await Store.open(tmp_path / "shared.db")
    repo = SessionRepo(store)
    inside = asyncio.Event()
    release = asyncio.Event()

    async def failing_command() -> None:
        async with store.transaction():
            await store.execute(
                "INSERT INTO session (id, cwd, created_at, updated_at) VALUES ('doomed', '/', 0, 0)"
            )
            inside.set()
            await release.wait()
            raise RuntimeError("command failed")

    async def streaming_turn() -> str:
        await inside.wait()
        writing = asyncio.ensure_future(repo.create(cwd=tmp_path, model="x/y", title="kept"))
        await asyncio.sleep(0.05)
        release.set()
        return (await writing).id

    try:
        results = await asyncio.gather(failing_command(), streaming_turn(), return_exceptions=True)
        assert isinstance(results[0], RuntimeError)
        kept = await repo.get(str(results[1]))
        assert kept is not None and kept.title == "kept"
        assert await store.fetchone("SELECT id FROM session WHERE id = 'doomed'") is None
    finally:
        await store.close()


async def test_sqlite_errors_become_store_errors(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "e.db")
    try:
        with pytest.raises(StoreError, match=r"e\.db.*no such table: nope"):
            await store.execute("INSERT INTO nope VALUES (1)")
    finally:
        await store.close()


async def test_id_prefix_lookup_treats_like_wildcards_literally(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "p.db")
    try:
        repo = SessionRepo(store)
        record = await repo.create(cwd=tmp_path, model="x/y")
        assert (await repo.get(record.id[:8])) is not None
        assert await repo.get("%") is None
        assert await repo.get("ses" + "_" * 3) is None
    finally:
        await store.close()
