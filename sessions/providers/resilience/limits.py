"""Client-side rate limits: ``rpm`` and ``tpm`` per provider endpoint, as token buckets.

A bucket holds up to one minute's allowance and refills continuously on a monotonic clock.
Callers queue in arrival order behind one lock, so concurrent turns in one process share the
allowance fairly and a burst is spread over the window instead of being refused. A caller that
must wait is told first (``on_wait(seconds, what)``): waiting is never silent, and nothing here
ever fails a request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

OnWait = Callable[[float, str], None]
Sleep = Callable[[float], Awaitable[None]]


class Bucket(Protocol):
    """A token bucket: in this process (``TokenBucket``) or shared through the store
    (``shared_limits.StoreBucket``)."""

    async def acquire(self, amount: float = 1.0, on_wait: OnWait | None = None) -> float: ...

    async def charge(self, amount: float) -> None: ...


@dataclass(slots=True)
class TokenBucket:
    per_minute: float
    what: str  # "requests" or "tokens": named in the wait notice
    clock: Callable[[], float] = time.monotonic
    sleep: Sleep = asyncio.sleep
    level: float = field(init=False)
    stamp: float = field(init=False)
    lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.level = self.per_minute
        self.stamp = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        rate = self.per_minute / 60.0
        self.level = min(self.per_minute, self.level + (now - self.stamp) * rate)
        self.stamp = now

    async def acquire(self, amount: float = 1.0, on_wait: OnWait | None = None) -> float:
        """Take ``amount`` (capped at a full bucket, so one huge request still goes out once the
        bucket is full); returns the seconds waited."""
        amount = min(amount, self.per_minute)
        waited = 0.0
        async with self.lock:
            while True:
                self._refill()
                if self.level >= amount:
                    self.level -= amount
                    return waited
                wait = (amount - self.level) / (self.per_minute / 60.0)
                if on_wait is not None:
                    on_wait(wait, self.what)
                await self.sleep(wait)
                waited += wait

    def settle(self, amount: float) -> None:
        """Charge (positive) or refund (negative) the difference between an estimate and what
        the provider reported; the level may go below zero, delaying the next caller."""
        self._refill()
        self.level = min(self.per_minute, self.level - amount)

    async def charge(self, amount: float) -> None:
        """``settle``, as the ``Bucket`` protocol has it."""
        self.settle(amount)


@dataclass(slots=True)
class Limiter:
    """The buckets of one endpoint (either may be absent)."""

    rpm: Bucket | None = None
    tpm: Bucket | None = None

    async def acquire(self, tokens: int, on_wait: OnWait | None = None) -> float:
        waited = 0.0
        if self.rpm is not None:
            waited += await self.rpm.acquire(1, on_wait)
        if self.tpm is not None:
            waited += await self.tpm.acquire(tokens, on_wait)
        return waited

    async def settle(self, estimated: int, actual: int) -> None:
        if self.tpm is not None and actual:
            await self.tpm.charge(actual - estimated)


def estimate_tokens(chars: int, max_tokens: int | None) -> int:
    """A request's token cost before the reply says: ~4 characters a token, plus the output
    it may produce (corrected by ``Limiter.settle`` once usage arrives)."""
    return chars // 4 + (max_tokens or 0) + 1
