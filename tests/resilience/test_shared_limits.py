"""Client-side rate limits shared through the store: two processes on one database draw from
one bucket (``StoreBucket``, table ``rate_limit``), not one bucket each."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from opencode.sessions.providers.resilience.shared_limits import StoreBucket
from opencode.sessions.store.db import Store
from tests.engine.helpers import fixture, spawn, write_config
from tests.support.stream_server import Reply, StreamServer


class FixedClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_two_connections_share_one_bucket_and_queue_in_order(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    first, second = await Store.open(path), await Store.open(path)
    clock = FixedClock()
    slept: list[float] = []
    release = asyncio.Event()

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await release.wait()

    try:
        a = StoreBucket(first, "p@x|rpm=2", 2, "requests", clock, sleep)
        b = StoreBucket(second, "p@x|rpm=2", 2, "requests", clock, sleep)
        assert await a.acquire() == 0.0
        assert await b.acquire() == 0.0  # the second connection sees the first's take
        waits: list[tuple[float, str]] = []
        third = asyncio.create_task(a.acquire(1, lambda s, what: waits.append((s, what))))
        await asyncio.wait_for(_until(lambda: len(slept) == 1), 5)
        assert waits == [(pytest.approx(30.0), "requests")]  # 2 a minute: next slot in 30 s
        # cancelled while waiting: its place goes back, so the next caller waits 30 s, not 60
        third.cancel()
        with pytest.raises(asyncio.CancelledError):
            await third
        fourth = asyncio.create_task(b.acquire())
        await asyncio.wait_for(_until(lambda: len(slept) == 2), 5)
        assert slept[1] == pytest.approx(30.0)
        release.set()
        assert await fourth == pytest.approx(30.0)
        # half a minute later one request's worth has refilled, and it is already reserved
        clock.now += 30
        row = await first.fetchone("SELECT level, capacity FROM rate_limit")
        assert row is not None and (row["level"], row["capacity"]) == (-1.0, 2.0)
        assert await a.acquire() == pytest.approx(30.0)
    finally:
        await first.close()
        await second.close()


async def test_a_clock_stepping_back_refills_nothing(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "shared.db")
    clock = FixedClock()
    try:
        bucket = StoreBucket(store, "k", 60, "requests", clock)
        for _ in range(60):
            await bucket.acquire()
        clock.now -= 3600
        seen: list[float] = []

        async def sleep(seconds: float) -> None:
            seen.append(seconds)

        bucket.sleep = sleep
        await bucket.acquire()
        assert seen == [pytest.approx(1.0)]
    finally:
        await store.close()


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():  # noqa: ASYNC110 (the condition is a list another task appends to)
        await asyncio.sleep(0.01)


def test_two_opencode_runs_together_stay_within_one_rpm(tmp_path: Path) -> None:
    """Two real ``opencode run`` processes against one loopback server with ``rpm = 3``: each
    turn loops on tool calls, so each alone would send 3 requests at once. Together they send
    3 (plus what refilled since the start, 1 per 20 s) and both are seen waiting."""
    limit = 3
    server = StreamServer([Reply(body=fixture("openai_tool_call.sse"))])
    server.start()
    procs: list[subprocess.Popen[bytes]] = []
    errs = ["", ""]
    try:
        project = tmp_path / "project"
        write_config(project, "openai", server.url, "max_steps = 10\n")
        config = project / "opencode.toml"
        config.write_text(config.read_text() + f"rpm = {limit}\n", encoding="utf-8")
        (project / "src").mkdir()
        (project / "src" / "main.py").write_text("print('hi')\n")
        started = time.monotonic()
        for _ in range(2):
            proc = spawn(project, "run", "read src/main.py again and again")
            procs.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for proc in procs:
                assert proc.poll() is None, proc.communicate(timeout=10)
            # Each process has one request at a time in flight, so a level below -1 (two
            # reservations, less what refilled between them) means both are in line.
            levels = _levels()
            if len(server.requests) > limit:
                break  # over the limit already: no need to wait for the rest
            if len(server.requests) == limit and levels and min(levels) < -1:
                break
            time.sleep(0.05)
        # give any process without the shared bucket time to send its own 3
        settle_until = time.monotonic() + 2
        while time.monotonic() < settle_until:
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        sent = len(server.requests)
        refilled = int(elapsed * limit / 60)
        assert sent <= limit + refilled, (sent, elapsed)
        assert sent >= limit
    finally:
        for proc in procs:
            proc.kill()
        for i, proc in enumerate(procs):
            _, err = proc.communicate(timeout=10)
            errs[i] = err.decode(errors="replace")
        server.stop()
    # both were told they wait, with who and why
    assert all("requests per minute limit" in err for err in errs), errs


def _levels() -> list[float]:
    import sqlite3

    from tests.engine.helpers import db_path

    path = db_path()
    if not path.exists():
        return []
    conn = sqlite3.connect(path, timeout=5)
    try:
        return [row[0] for row in conn.execute("SELECT level FROM rate_limit")]
    except sqlite3.OperationalError:  # not migrated yet
        return []
    finally:
        conn.close()
