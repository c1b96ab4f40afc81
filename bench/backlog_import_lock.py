"""How long a large `backlog import` keeps other writers out (prints figures; never pass/fail).

Generates a groomed-backlog file of N items, imports it into a fresh SQLite store while a
second connection (as `opencode run` in another process) writes every 10 ms with a 5 s
busy_timeout, and prints: the file size, the import's wall time, how many writes the other
connection got in during the import, its longest wait for the lock and how often it was
refused. `--single` imports in one transaction (the behaviour before batching) for comparison.

Run from the repository root: `python bench/backlog_import_lock.py [--items 8000] [--single]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opencode.commands.backlog import repo as backlog_repo  # noqa: E402
from opencode.commands.backlog.exporter import export_backlog  # noqa: E402
from opencode.commands.backlog.model import BacklogItem, Criterion  # noqa: E402
from opencode.commands.backlog.parser import parse_backlog  # noqa: E402
from opencode.sessions.store.db import Store  # noqa: E402


def _items(count: int) -> list[BacklogItem]:
    filler = "Context paragraph that a groomed backlog carries for every task. " * 20
    return [
        BacklogItem(
            title=f"Generated task number {n}",
            key=f"Task-{n:05d}",
            number=n,
            one_liner=f"one line about task {n}",
            priority="Medium (generated)",
            effort="Small (1 hour)",
            status="ready",
            files=[f"`src/module_{n}.py`", f"`tests/test_module_{n}.py`"],
            criteria=[Criterion(f"criterion {n}.{c}") for c in range(4)],
            notes=filler,
        )
        for n in range(1, count + 1)
    ]


def _writer(db: Path, stop: threading.Event, waits: list[float], refused: list[str]) -> None:
    conn = sqlite3.connect(db, isolation_level=None, timeout=0)
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("CREATE TABLE IF NOT EXISTS bench_writer (id INTEGER PRIMARY KEY, at REAL)")
    while not stop.is_set():
        started = time.monotonic()
        try:
            conn.execute("BEGIN IMMEDIATE")
            waits.append(time.monotonic() - started)
            conn.execute("INSERT INTO bench_writer (at) VALUES (?)", (time.time(),))
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            refused.append(str(exc))
        time.sleep(0.01)
    conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=8000)
    parser.add_argument("--single", action="store_true", help="one transaction (old way)")
    args = parser.parse_args()
    if args.single:
        backlog_repo.IMPORT_BATCH_S = 1e9
        backlog_repo.IMPORT_BATCH_ITEMS = 10**9
    with tempfile.TemporaryDirectory() as tmp:
        markdown = export_backlog(_items(args.items))
        parsed = parse_backlog(markdown)
        store = await Store.open(Path(tmp) / "db.sqlite")
        stop = threading.Event()
        waits: list[float] = []
        refused: list[str] = []
        thread = threading.Thread(target=_writer, args=(store.path, stop, waits, refused))
        thread.start()
        await asyncio.sleep(0.2)
        before = len(waits)
        started = time.monotonic()
        await backlog_repo.BacklogRepo(store).import_items(parsed.items, parsed.planned_at)
        wall = time.monotonic() - started
        during = len(waits) - before
        stop.set()
        thread.join()
        await store.close()
    mode = "single transaction" if args.single else "batched"
    print(f"backlog import ({mode}): {len(parsed.items)} items, {len(markdown) / 1e6:.1f} MB")
    print(f"  import wall time         {wall:.2f} s")
    print(f"  other writer's commits   {during} during the import")
    print(f"  other writer's max wait  {max(waits, default=0) * 1000:.0f} ms")
    print(f"  other writer refused     {len(refused)} ({refused[:1]})")


if __name__ == "__main__":
    asyncio.run(main())
