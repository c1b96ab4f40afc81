"""Keeps the app responsive while a provider streams faster than it can be shown.

Two mechanisms, both about giving the loop to input:

``InputGate`` (keys first): from the moment a key (or paste, click, wheel step) reaches the
app until the screen has painted what it did, streaming work waits: the runner is parked at
its next event (``Pacer``) and ``StreamingMarkdown`` postpones its render slices. A key then
travels driver -> app -> widget -> frame through loop turns that hold only the key's own work,
so its latency does not depend on how fast the reply arrives. A hold lasts at most
``MAX_HOLD_S`` (a lost release, or keys held down on auto-repeat, never stalls a stream).

``Pacer`` is a bus subscriber: after ``BUSY_S`` of events back to back (the loop has not run
another callback in between: the runner never waited for data), it hands the
runner an awaitable that sleeps ``PAUSE_S``, so input, timers and the screen get their turn
at least every ``BUSY_S``; while the gate holds, the awaitable waits for the gate. At a normal
rate nothing waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

from opencode.sessions.events import SessionEvent

BUSY_S = 0.005
GAP_S = 0.001  # a pause between events long enough for the loop to turn (tests)
PAUSE_S = 0.002
MAX_HOLD_S = 0.1


class InputGate:
    """Counts input events between their arrival (``hold``) and the frame that shows them
    (``release``); ``holding`` says whether streaming work should wait now."""

    def __init__(self) -> None:
        self._held = 0
        self._since = 0.0
        self._waiters: list[asyncio.Future[None]] = []
        self.holds = 0  # input events seen (tests)
        self.waits = 0  # times streaming work waited for input (tests, benchmarks)

    def hold(self) -> None:
        if not self._held:
            self._since = time.perf_counter()
        self._held += 1
        self.holds += 1

    def release(self) -> None:
        if self._held:
            self._held -= 1
        if not self._held:
            self._wake()

    def holding(self) -> bool:
        if not self._held:
            return False
        if time.perf_counter() - self._since < MAX_HOLD_S:
            return True
        # Held too long (keys on auto-repeat, or a release that never came): the stream
        # gets its turn now; the next key holds again.
        self._held = 0
        self._wake()
        return False

    async def wait(self) -> None:
        """Return once nothing holds the gate (at most ``MAX_HOLD_S`` after the first hold)."""
        loop = asyncio.get_running_loop()
        while self.holding():
            self.waits += 1
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            remaining = self._since + MAX_HOLD_S - time.perf_counter()
            timer = loop.call_later(max(0.0, remaining), _resolve, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            _resolve(waiter)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Pacer:
    def __init__(self, gate: InputGate | None = None) -> None:
        self._since = time.perf_counter()
        self._gate = gate
        self._turned = True  # the loop has run other callbacks since ``_since``
        self.pauses = 0

    def _mark_turn(self) -> None:
        self._turned = True

    def __call__(self, event: SessionEvent) -> Awaitable[None] | None:
        now = time.perf_counter()
        gate = self._gate
        if gate is not None and gate.holding():
            self._since = now
            self.pauses += 1
            return gate.wait()
        # The loop turned since the stretch began (the producer waited for data): a new
        # stretch starts. A callback scheduled for the next loop turn tells it exactly; the
        # gap between two events alone does not (a producer parsing a big batch of lines
        # in slices leaves gaps between its events without ever giving the loop a turn).
        if self._turned:
            self._since = now
            self._turned = False
            self._schedule_mark()
        if now - self._since < BUSY_S:
            return None
        self._since = now
        self.pauses += 1
        return asyncio.sleep(PAUSE_S)

    def _schedule_mark(self) -> None:
        try:
            asyncio.get_running_loop().call_soon(self._mark_turn)
        except RuntimeError:  # called outside a loop: nothing to give a turn to
            self._turned = True
