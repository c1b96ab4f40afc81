"""Keeps the app responsive while a provider streams faster than it can be shown.

A local server can send tokens faster than the loop turns: the runner's reads find data
already buffered and never suspend, so key presses (Esc included) would wait until the reply
ends. ``Pacer`` is a bus subscriber: after ``BUSY_S`` of events back to back (no gap of
``GAP_S`` between two, which would mean the runner waited for data and the loop turned), it
hands the runner an awaitable that sleeps ``PAUSE_S``, so input, timers and the screen get
their turn at least every ``BUSY_S``. At a normal rate nothing waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

from opencode.sessions.events import SessionEvent

BUSY_S = 0.005
GAP_S = 0.001
PAUSE_S = 0.002


class Pacer:
    def __init__(self) -> None:
        self._since = self._last = time.perf_counter()
        self.pauses = 0

    def __call__(self, event: SessionEvent) -> Awaitable[None] | None:
        now = time.perf_counter()
        if now - self._last > GAP_S:
            self._since = now  # the producer waited: the loop has had its turn
        self._last = now
        if now - self._since < BUSY_S:
            return None
        self._since = now
        self.pauses += 1
        return asyncio.sleep(PAUSE_S)
