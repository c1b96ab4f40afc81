"""What a shared rate limit costs per request: ``StoreBucket.acquire`` (BEGIN IMMEDIATE, one
UPSERT ... RETURNING, COMMIT on the real SQLite file) beside the in-process ``TokenBucket``,
alone and with a second process hammering the same bucket (the worst realistic case: two
``opencode run`` on one provider at once).

    PYTHONPATH=$PWD python bench/shared_limits.py [--n 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opencode.sessions.providers.resilience.limits import TokenBucket  # noqa: E402
from opencode.sessions.providers.resilience.shared_limits import StoreBucket  # noqa: E402
from opencode.sessions.store.db import Store  # noqa: E402

# a bucket that never runs dry: the figure is the bookkeeping, not a wait
PER_MINUTE = 10**12


async def _store_times(path: Path, n: int) -> list[float]:
    store = await Store.open(path)
    try:
        bucket = StoreBucket(store, "bench|rpm", PER_MINUTE, "requests")
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            await bucket.acquire()
            times.append(time.perf_counter() - t0)
        return times
    finally:
        await store.close()


async def _local_times(n: int) -> list[float]:
    bucket = TokenBucket(PER_MINUTE, "requests")
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        await bucket.acquire()
        times.append(time.perf_counter() - t0)
    return times


def _hammer(path: str, stop: float) -> None:
    async def go() -> None:
        store = await Store.open(Path(path))
        bucket = StoreBucket(store, "bench|rpm", PER_MINUTE, "requests")
        while time.time() < stop:
            await bucket.acquire()
        await store.close()

    asyncio.run(go())


def _report(name: str, times: list[float]) -> None:
    ordered = sorted(times)
    p50 = statistics.median(ordered) * 1e6
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1e6
    print(f"{name:<40} p50 {p50:8.1f} us   p99 {p99:8.1f} us   max {ordered[-1] * 1e6:8.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    n = parser.parse_args().n
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "opencode.db"
        _report("TokenBucket (in process)", asyncio.run(_local_times(n)))
        _report("StoreBucket (one process)", asyncio.run(_store_times(path, n)))
        other = multiprocessing.Process(target=_hammer, args=(str(path), time.time() + 30))
        other.start()
        try:
            _report("StoreBucket (a 2nd process hammering)", asyncio.run(_store_times(path, n)))
        finally:
            other.terminate()
            other.join()


if __name__ == "__main__":
    main()
