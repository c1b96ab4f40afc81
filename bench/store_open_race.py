"""Figures for concurrent store openers: N processes open one SQLite file at the same instant,
round after round, on a fresh file and on a file at an old schema version.

    PYTHONPATH=. python bench/store_open_race.py [PROCESSES] [ROUNDS]

Prints, per scenario, how many opens failed, how many rounds left a backup that is not the
old version, and the wall time per round."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sqlite3
import sys
import tempfile
import time
from multiprocessing.synchronize import Barrier
from pathlib import Path

from opencode.sessions.store.db import Store, migrations

OLD_VERSION = 2


def _open(path: str, barrier: Barrier) -> None:
    async def go() -> None:
        await (await Store.open(Path(path), on_wait=lambda line: None)).close()

    barrier.wait()
    try:
        asyncio.run(go())
    except BaseException:
        os._exit(1)
    os._exit(0)


def _old(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    for number, migration in migrations()[:OLD_VERSION]:
        conn.executescript(migration.read_text(encoding="utf-8"))
        conn.execute(f"PRAGMA user_version = {number}")
    conn.close()


def _version(path: Path) -> int | None:
    if not path.exists():
        return None
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def scenario(name: str, processes: int, rounds: int, old: bool) -> None:
    ctx = multiprocessing.get_context("fork")
    failed = bad_backups = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(rounds):
            path = Path(tmp) / f"r{round_}" / "opencode.db"
            path.parent.mkdir()
            if old:
                _old(path)
            barrier = ctx.Barrier(processes)
            procs = [ctx.Process(target=_open, args=(str(path), barrier)) for _ in range(processes)]
            for proc in procs:
                proc.start()
            for proc in procs:
                proc.join()
            failed += sum(1 for p in procs if p.exitcode != 0)
            if old and _version(path.with_name(f"opencode.db.bak-v{OLD_VERSION}")) != OLD_VERSION:
                bad_backups += 1
    per_round = (time.perf_counter() - started) / rounds * 1000
    print(
        f"{name}: {failed}/{processes * rounds} opens failed; "
        f"{bad_backups}/{rounds if old else 0} rounds with a wrong or missing backup; "
        f"{per_round:.0f} ms per round"
    )


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    r = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    scenario("fresh file", n, r, old=False)
    scenario(f"v{OLD_VERSION} file", n, r, old=True)
