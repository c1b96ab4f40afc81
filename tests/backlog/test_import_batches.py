"""A large `backlog import` commits in batches: another connection writing to the same SQLite
file meanwhile (as `opencode run` in a second process does) gets in between the batches and is
never refused with "database is locked"."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from opencode.commands.backlog import repo as backlog_repo
from opencode.commands.backlog.exporter import export_backlog
from opencode.commands.backlog.model import BacklogItem, Criterion
from opencode.commands.registry import CommandContext

from .conftest import Run

ITEMS = 2000


def _generated_backlog(path: Path, count: int) -> None:
    items = [
        BacklogItem(
            title=f"Generated task number {n}",
            key=f"Task-{n:04d}",
            number=n,
            one_liner=f"one line about task {n}",
            priority="Medium (generated)",
            effort="Small (1 hour)",
            status="ready",
            files=[f"`src/module_{n}.py`"],
            criteria=[Criterion(f"criterion {n}.{c}") for c in range(3)],
        )
        for n in range(1, count + 1)
    ]
    path.write_text(export_backlog(items), encoding="utf-8")


def _other_writer(db: Path, stop: threading.Event, seen: list[int], refused: list[str]) -> None:
    """Another connection that writes all the time, each write recording how many backlog
    items were committed when it got the lock."""
    conn = sqlite3.connect(db, isolation_level=None, timeout=0)
    conn.execute("PRAGMA busy_timeout = 3000")  # far above one batch, far below the import
    try:
        while not stop.is_set():
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    "INSERT INTO other_writer (items_seen) SELECT count(*) FROM backlog_item"
                )
                conn.execute("COMMIT")
                seen.append(conn.execute("SELECT max(items_seen) FROM other_writer").fetchone()[0])
            except sqlite3.OperationalError as exc:
                refused.append(str(exc))
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            time.sleep(0.005)
    finally:
        conn.close()


async def test_large_import_lets_another_writer_in_between_batches(
    run: Run, ctx: CommandContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small batches keep the test fast while still giving several commits.
    monkeypatch.setattr(backlog_repo, "IMPORT_BATCH_ITEMS", 250)
    source = tmp_path / "big.md"
    _generated_backlog(source, ITEMS)
    await ctx.store.execute(
        "CREATE TABLE other_writer (id INTEGER PRIMARY KEY, items_seen INTEGER NOT NULL)"
    )
    stop = threading.Event()
    seen: list[int] = []
    refused: list[str] = []
    writer = asyncio.create_task(
        asyncio.to_thread(_other_writer, ctx.store.path, stop, seen, refused)
    )
    try:
        result = await run("backlog", "import", str(source))
    finally:
        stop.set()
        await writer
    assert result.exit_code == 0, result.text
    assert result.data["created"] == ITEMS
    assert refused == []
    # the other writer committed while the import was half done: the lock was let go
    between = sorted({n for n in seen if 0 < n < ITEMS})
    assert between, f"the other writer only saw {sorted(set(seen))} items"
    # every batch is whole: an item never lands without its criteria
    with sqlite3.connect(ctx.store.path) as db:
        (criteria,) = db.execute("SELECT count(*) FROM backlog_criterion").fetchone()
        (items,) = db.execute("SELECT count(*) FROM backlog_item").fetchone()
    assert (items, criteria) == (ITEMS, 3 * ITEMS)


def _add_evidence_mid_import(db: Path, stamp: float, done: threading.Event) -> None:
    """Once the re-import has rewritten the first item but not the last, record evidence on
    the last one (as `backlog done` in another process would)."""
    conn = sqlite3.connect(db, isolation_level=None, timeout=0)
    conn.execute("PRAGMA busy_timeout = 3000")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            first, last = (
                row[0]
                for row in conn.execute(
                    "SELECT updated_at FROM backlog_item WHERE key IN ('Task-0001', 'Task-0040')"
                    " ORDER BY key"
                )
            )
            if first != stamp and last == stamp:
                changed = conn.execute(
                    "UPDATE backlog_item SET evidence = '[\"commit abc says done\"]'"
                    " WHERE key = 'Task-0040' AND updated_at = ?",
                    (stamp,),
                ).rowcount
                if changed:
                    done.set()
                return
            time.sleep(0.002)
    finally:
        conn.close()


async def test_reimport_in_batches_keeps_evidence_added_meanwhile(
    run: Run, ctx: CommandContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backlog_repo, "IMPORT_BATCH_ITEMS", 10)
    source = tmp_path / "small.md"
    _generated_backlog(source, 40)
    assert (await run("backlog", "import", str(source))).exit_code == 0
    with sqlite3.connect(ctx.store.path) as db:
        (stamp,) = db.execute(
            "SELECT updated_at FROM backlog_item WHERE key = 'Task-0001'"
        ).fetchone()
    done = threading.Event()
    writer = asyncio.create_task(
        asyncio.to_thread(_add_evidence_mid_import, ctx.store.path, stamp, done)
    )
    again = await run("backlog", "import", str(source))
    await writer
    assert again.exit_code == 0 and again.data["created"] == 0 and again.data["updated"] == 40
    assert done.is_set(), "the other writer never got in between two batches"
    last = (await run("backlog", "show", "Task-0040")).data
    assert last["evidence"] == ["commit abc says done"]
    assert len((await run("backlog", "list")).data) == 40
