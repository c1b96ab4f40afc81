"""Sortable unique ids (``ses_…``, ``msg_…``, ``prt_…``): time first, so ids order by creation."""

from __future__ import annotations

import os
import time

_last = 0


def new_id(prefix: str) -> str:
    """Return ``prefix_`` + 12 hex digits of microseconds + 8 random hex digits.

    Monotonic within a process even when the clock stands still.
    """
    global _last
    now = time.time_ns() // 1000
    if now <= _last:
        now = _last + 1
    _last = now
    return f"{prefix}_{now:012x}{os.urandom(4).hex()}"
