"""A transaction cancelled at any await point never leaves the shared connection inside an
open transaction: later writes in the same process still commit and survive a reopen.

Plain asyncio cancellation (edge-triggered: one ``CancelledError``) and anyio cancel scopes
(level-triggered: every await in the cancelled scope raises again, as in the proxy's request
tasks) are both driven through every await of ``Store.transaction``, one step further each
round, on a real SQLite file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import anyio
import anyio.lowlevel

from opencode.sessions.store.db import Store

ROUNDS = 30


async def _make_table(path: Path) -> Store:
    store = await Store.open(path, on_wait=lambda line: None)
    await store.execute("CREATE TABLE t (x TEXT)")
    return store


async def _plain_write(store: Store, value: str) -> None:
    """Two statements outside any transaction, as the proxy's correction log writes."""
    await store.execute("INSERT INTO t VALUES (?)", (value,))
    await store.execute("INSERT INTO t VALUES (?)", (value + "+",))


async def _rows(path: Path) -> list[str]:
    store = await Store.open(path, on_wait=lambda line: None)
    try:
        return [row[0] for row in await store.fetchall("SELECT x FROM t ORDER BY rowid")]
    finally:
        await store.close()


async def _write_in_transaction(store: Store, value: str) -> None:
    async with store.transaction():
        await store.execute("INSERT INTO t VALUES (?)", (value,))
        await store.execute("UPDATE t SET x = x WHERE x = ?", (value,))
        await store.execute("INSERT INTO t VALUES (?)", (value + "+",))


def _check(rows: list[str], kept: list[str], candidates: set[str]) -> None:
    """Every write that returned is there once; a cancelled one is there whole (both rows,
    when its COMMIT ran before the cancellation was raised) or not at all."""
    expected = sorted(kept + [k + "+" for k in kept])
    assert sorted(r for r in rows if r.rstrip("+") not in candidates) == expected
    for value in candidates:
        present = [r for r in rows if r.rstrip("+") == value]
        assert present in ([], [value, value + "+"]), f"{value}: half a transaction {present}"


async def test_asyncio_cancel_at_every_point_then_writes_survive(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    store = await _make_table(path)
    kept: list[str] = []
    cancelled_rounds = 0
    try:
        for n in range(ROUNDS):
            writer = asyncio.create_task(_write_in_transaction(store, f"cancelled-{n}"))
            for _ in range(n):
                await asyncio.sleep(0)
            writer.cancel()
            try:
                await writer
            except asyncio.CancelledError:
                cancelled_rounds += 1
            else:
                kept.append(f"cancelled-{n}")  # finished before the cancel landed
            # Right after the cancelled task ended, with no grace: nothing is left open.
            assert not store.conn.in_transaction, f"round {n}: connection left in a transaction"
            await _plain_write(store, f"plain-{n}")
            await _write_in_transaction(store, f"tx-{n}")
            kept.extend([f"plain-{n}", f"tx-{n}"])
    finally:
        await store.close()
    assert cancelled_rounds >= 3, "the rounds must actually cancel inside the transaction"
    candidates = {f"cancelled-{n}" for n in range(ROUNDS)} - set(kept)
    _check(await _rows(path), kept, candidates)


def test_anyio_scope_cancelled_at_every_point_then_writes_survive(tmp_path: Path) -> None:
    """A sibling cancels the writer's scope after ``n`` checkpoints; the scope stays cancelled
    (level-triggered), so every await inside the transaction's clean-up raises again."""
    path = tmp_path / "a.db"

    async def main() -> tuple[list[str], int]:
        store = await _make_table(path)
        kept: list[str] = []
        cancelled_rounds = 0
        try:
            for n in range(ROUNDS):
                scope = anyio.CancelScope()
                done = anyio.Event()

                async def writer(value: str, scope: anyio.CancelScope, done: anyio.Event) -> None:
                    with scope:
                        await _write_in_transaction(store, value)
                        kept.append(value)
                    done.set()

                async with anyio.create_task_group() as group:
                    group.start_soon(writer, f"cancelled-{n}", scope, done)
                    for _ in range(n):
                        await anyio.lowlevel.checkpoint()
                    scope.cancel()
                    await done.wait()
                    assert not store.conn.in_transaction, f"round {n}: left in a transaction"
                if scope.cancelled_caught:
                    cancelled_rounds += 1
                await _plain_write(store, f"plain-{n}")
                await _write_in_transaction(store, f"tx-{n}")
                kept.extend([f"plain-{n}", f"tx-{n}"])
        finally:
            await store.close()
        return kept, cancelled_rounds

    kept, cancelled_rounds = anyio.run(main)
    assert cancelled_rounds >= 3, "the rounds must actually cancel inside the transaction"
    candidates = {f"cancelled-{n}" for n in range(ROUNDS)} - set(kept)
    _check(asyncio.run(_rows(path)), kept, candidates)


def test_anyio_deadline_inside_a_task_group_then_writes_survive(tmp_path: Path) -> None:
    """As a Starlette request task meets it: a deadline that expires somewhere inside the
    transaction, in a task group, with other requests writing beside it."""
    path = tmp_path / "d.db"

    async def main() -> list[str]:
        store = await _make_table(path)
        kept: list[str] = []
        try:
            for n in range(ROUNDS):

                async def request(value: str, delay: float) -> None:
                    with anyio.move_on_after(delay):
                        await _write_in_transaction(store, value)
                        kept.append(value)

                async with anyio.create_task_group() as group:
                    for k in range(3):
                        # Deadlines from 0 to a few ms: some land in BEGIN, some in COMMIT.
                        group.start_soon(request, f"r{n}-{k}", (n * 3 + k) * 0.0002)
                assert not store.conn.in_transaction, f"round {n}: left in a transaction"
                await _write_in_transaction(store, f"tx-{n}")
                kept.append(f"tx-{n}")
        finally:
            await store.close()
        return kept

    kept = anyio.run(main)
    candidates = {f"r{n}-{k}" for n in range(ROUNDS) for k in range(3)} - set(kept)
    _check(asyncio.run(_rows(path)), kept, candidates)
