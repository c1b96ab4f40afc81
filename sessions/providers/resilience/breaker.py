"""The circuit breaker of one provider endpoint (provider name + base URL), kept in SQLite.

States: ``closed`` (calls go through; consecutive failures are counted), ``open`` (after
``failure_threshold`` failures: calls are refused without touching the network until
``cooldown_s`` has passed), ``half-open`` (one probe call is let through; its success closes the
breaker, its failure opens it again for another cooldown).

The state is a row of ``provider_breaker``, read and changed inside one ``BEGIN IMMEDIATE``
transaction, so every opencode process on the same database shares it: a script that calls
``opencode run`` 100 times against a dead endpoint pays for ``failure_threshold`` failures, not
100. The clock is wall time (processes share no monotonic clock) and is injected for tests.
A process remembers a closed breaker for ``CLOSED_CACHE_S`` (1 s) so the success path costs
no read; its own failures drop that memory at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from opencode.sessions.store.db import Store

State = Literal["closed", "open", "half-open"]
CLOSED_CACHE_S = 1.0


@dataclass(frozen=True, slots=True)
class Decision:
    """May a call go out now? ``state`` is the breaker's state when it was asked."""

    allowed: bool
    state: State
    probe: bool = False  # this call is the half-open probe
    retry_in: float = 0.0  # seconds until a call may be tried again (when refused)
    last_error: str | None = None
    failures: int = 0  # consecutive failures counted when it was asked


@dataclass(frozen=True, slots=True)
class BreakerRow:
    key: str
    provider: str
    endpoint: str
    state: State
    failures: int
    opened_at: float | None
    last_error: str | None
    updated_at: float


def breaker_key(provider: str, endpoint: str) -> str:
    return f"{provider} {endpoint}"


class Breaker:
    def __init__(
        self,
        store: Store,
        provider: str,
        endpoint: str,
        *,
        failure_threshold: int = 3,
        cooldown_s: float = 30.0,
        probe_timeout_s: float = 120.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.provider = provider
        self.endpoint = endpoint
        self.key = breaker_key(provider, endpoint)
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        # A probe whose process died never reports back: after this long another is allowed.
        self.probe_timeout_s = max(probe_timeout_s, cooldown_s)
        self.clock = clock
        # (time.monotonic(), failures) of the last read that found the breaker closed. Within
        # CLOSED_CACHE_S the hot path skips the read: another process opening the breaker is
        # seen at most that much later, and this process's own writes drop the cache at once.
        self._closed_seen: tuple[float, int] | None = None

    async def _row(self) -> tuple[State, int, float | None, float | None, str | None] | None:
        row = await self.store.fetchone(
            "SELECT state, failures, opened_at, probe_at, last_error FROM provider_breaker "
            "WHERE key = ?",
            (self.key,),
        )
        if row is None:
            return None
        return row["state"], row["failures"], row["opened_at"], row["probe_at"], row["last_error"]

    async def state(self) -> State:
        row = await self._row()
        return "closed" if row is None else row[0]

    async def before_call(self) -> Decision:
        """Decide whether a call may go out; hands out the half-open probe to one caller."""
        # Fast path without a write transaction: a closed breaker is the common case.
        seen = self._closed_seen
        if seen is not None and time.monotonic() - seen[0] < CLOSED_CACHE_S:
            return Decision(True, "closed", failures=seen[1])
        row = await self._row()
        if row is None or row[0] == "closed":
            failures = 0 if row is None else row[1]
            self._closed_seen = (time.monotonic(), failures)
            return Decision(True, "closed", failures=failures)
        self._closed_seen = None
        async with self.store.transaction():
            row = await self._row()
            if row is None or row[0] == "closed":
                return Decision(True, "closed")
            state, _, opened_at, probe_at, last_error = row
            now = self.clock()
            if state == "open":
                reopen = (opened_at or now) + self.cooldown_s
                if now < reopen:
                    return Decision(False, "open", retry_in=reopen - now, last_error=last_error)
                await self._set("half-open", probe_at=now, now=now)
                return Decision(True, "half-open", probe=True, last_error=last_error)
            # half-open: the probe is out; others wait for its answer (or its expiry)
            if probe_at is not None and now < probe_at + self.probe_timeout_s:
                return Decision(
                    False,
                    "half-open",
                    retry_in=max(self.cooldown_s, 1.0),
                    last_error=last_error,
                )
            await self._set("half-open", probe_at=now, now=now)
            return Decision(True, "half-open", probe=True, last_error=last_error)

    async def record_success(self, seen_clean: bool = False) -> None:
        """``seen_clean``: the caller's ``before_call`` saw a closed breaker with no failures,
        so there is nothing to reset (saves a read per call; another process's failure in
        between stays counted, which errs on the safe side)."""
        if seen_clean:
            return
        row = await self._row()
        if row is None or (row[0] == "closed" and row[1] == 0):
            return  # nothing to reset: keep the success path free of writes
        async with self.store.transaction():
            await self._set("closed", failures=0, opened_at=None, probe_at=None, now=self.clock())

    async def record_failure(self, error: str) -> State:
        """Count a failure; returns the state it leaves the breaker in."""
        async with self.store.transaction():
            row = await self._row()
            now = self.clock()
            state: State = "closed" if row is None else row[0]
            failures = (0 if row is None else row[1]) + 1
            if state == "half-open" or (state == "closed" and failures >= self.failure_threshold):
                await self._set(
                    "open", failures=failures, opened_at=now, probe_at=None, error=error, now=now
                )
                return "open"
            if state == "open":
                # a call that was allowed before the breaker opened failed late: keep it open
                await self._set("open", failures=failures, error=error, now=now)
                return "open"
            await self._set("closed", failures=failures, error=error, now=now)
            return "closed"

    async def _set(
        self,
        state: State,
        *,
        now: float,
        failures: int | None = None,
        opened_at: float | None | Literal[False] = False,
        probe_at: float | None | Literal[False] = False,
        error: str | None = None,
    ) -> None:
        """Upsert the row; ``False`` leaves a column as it is."""
        self._closed_seen = None
        await self.store.execute(
            "INSERT INTO provider_breaker (key, provider, endpoint, state, failures, opened_at, "
            "probe_at, last_error, updated_at) VALUES (?, ?, ?, ?, COALESCE(?, 0), "
            "CASE WHEN ? THEN ? END, CASE WHEN ? THEN ? END, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET state = excluded.state, "
            "failures = COALESCE(?, failures), "
            "opened_at = CASE WHEN ? THEN ? ELSE opened_at END, "
            "probe_at = CASE WHEN ? THEN ? ELSE probe_at END, "
            "last_error = COALESCE(excluded.last_error, last_error), "
            "updated_at = excluded.updated_at",
            (
                self.key,
                self.provider,
                self.endpoint,
                state,
                failures,
                opened_at is not False,
                None if opened_at is False else opened_at,
                probe_at is not False,
                None if probe_at is False else probe_at,
                error,
                now,
                failures,
                opened_at is not False,
                None if opened_at is False else opened_at,
                probe_at is not False,
                None if probe_at is False else probe_at,
            ),
        )


async def all_breakers(store: Store) -> list[BreakerRow]:
    rows = await store.fetchall(
        "SELECT key, provider, endpoint, state, failures, opened_at, last_error, updated_at "
        "FROM provider_breaker ORDER BY provider"
    )
    return [
        BreakerRow(
            r["key"],
            r["provider"],
            r["endpoint"],
            r["state"],
            r["failures"],
            r["opened_at"],
            r["last_error"],
            r["updated_at"],
        )
        for r in rows
    ]
