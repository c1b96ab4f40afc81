"""Client-side rate limits shared across processes: a token bucket per endpoint in SQLite.

``TokenBucket`` (limits.py) lives in one process, so two ``opencode run`` at once against one
provider would each get the whole ``rpm``. ``StoreBucket`` keeps the bucket in the
``rate_limit`` table instead. One statement per request, inside one ``BEGIN IMMEDIATE``
transaction, refills the bucket for the time since its last update and takes what the request
needs, returning the new level. A level below zero is a reservation: the caller sleeps until
the bucket would have refilled to zero, so callers from every process are served in the order
they asked, with no polling and no second statement. A caller cancelled while it waits gives its
reservation back.

The clock is the wall clock (``time.time``): the bucket is read by other processes. A clock
that steps back refills nothing (``max(now - stamp, 0)``) and never moves ``stamp`` back.

A database that cannot be written (locked past the busy timeout, full, read-only) must not
stop a reply: the bucket then falls back to an in-process one and says so once on the log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from opencode.sessions.providers.resilience.limits import OnWait, Sleep, TokenBucket
from opencode.sessions.store.db import Store, StoreError

log = logging.getLogger(__name__)

# ?1 key, ?2 capacity (per minute), ?3 amount taken (negative: given back), ?4 now.
_TAKE = """
INSERT INTO rate_limit (key, capacity, level, stamp) VALUES (?1, ?2, min(?2, ?2 - ?3), ?4)
ON CONFLICT (key) DO UPDATE SET
    level = min(?2, level + max(?4 - stamp, 0) * ?2 / 60.0) - ?3,
    capacity = ?2,
    stamp = max(stamp, ?4)
RETURNING level
"""


@dataclass(slots=True)
class StoreBucket:
    """A ``TokenBucket`` kept in the store; same ``acquire``/``charge`` contract."""

    store: Store
    key: str
    per_minute: float
    what: str  # "requests" or "tokens": named in the wait notice
    clock: Callable[[], float] = time.time
    sleep: Sleep = asyncio.sleep
    _local: TokenBucket | None = field(default=None, init=False)

    async def _take(self, amount: float) -> float | None:
        """Take ``amount`` (give back when negative); the level after, or None when the
        store could not be written."""
        try:
            async with self.store.transaction():
                row = await self.store.fetchone(
                    _TAKE, (self.key, self.per_minute, amount, self.clock())
                )
        except (StoreError, OSError) as exc:
            if self._local is None:
                log.warning(
                    "rate limit %s: the shared bucket in %s cannot be used (%s); "
                    "this process keeps its own until it can",
                    self.key,
                    self.store.path,
                    exc,
                )
                self._local = TokenBucket(self.per_minute, self.what, sleep=self.sleep)
            return None
        return float(row[0]) if row is not None else 0.0

    async def acquire(self, amount: float = 1.0, on_wait: OnWait | None = None) -> float:
        """Take ``amount`` (capped at a full bucket, so one huge request still goes out);
        returns the seconds waited."""
        amount = min(amount, self.per_minute)
        level = await self._take(amount)
        if level is None:
            assert self._local is not None
            return await self._local.acquire(amount, on_wait)
        if level >= 0:
            return 0.0
        wait = -level / (self.per_minute / 60.0)
        if on_wait is not None:
            on_wait(wait, self.what)
        try:
            await self.sleep(wait)
        except asyncio.CancelledError:
            # The place in line is not used: hand it to whoever is next.
            await asyncio.shield(self._take(-amount))
            raise
        return wait

    async def charge(self, amount: float) -> None:
        """Charge (positive) or refund (negative) an estimate's error once usage is known."""
        if amount and await self._take(amount) is None and self._local is not None:
            await self._local.charge(amount)
