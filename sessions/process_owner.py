"""Which process owns a running row, told apart from a later process with its pid.

Serves workflow runs (``workflows/repo.py``) and the target registry's sync runs
(``commands/target/repo.py``). A row keeps the owner's pid and, where ``/proc`` exists, its
start: the boot's id and field 22 of ``/proc/PID/stat`` (clock ticks after boot), as
``"BOOT_ID:TICKS"``. A pid that is alive now but started at another moment (reused after the
owner died, or after a reboot) is not the owner. Without ``/proc`` (macOS) the start is None
and the pid alone decides, as it does for rows written before starts were stored.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

_PROC = Path("/proc")


def pid_alive(pid: int | None) -> bool:
    """A process with this pid exists (someone else's included)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@functools.cache
def _boot_id() -> str:
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return ""


def process_start(pid: int) -> str | None:
    """``"BOOT_ID:TICKS"`` for a live process, or None (no such process, or no ``/proc``)."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    # Field 2 (the command name) is in parentheses and may itself hold spaces and ")".
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) < 20:
        return None
    return f"{_boot_id()}:{fields[19]}"  # fields[0] is field 3: field 22 is fields[19]


@functools.cache
def own_start() -> str | None:
    """This process's start, stored beside its pid when it claims a run."""
    return process_start(os.getpid())


def owner_alive(pid: int | None, start: str | None) -> bool:
    """The process that claimed a run (``pid``, ``start`` as stored) still runs."""
    if not pid_alive(pid):
        return False
    if start is None:
        return True  # claimed where /proc was missing, or before starts were stored
    assert pid is not None
    now = process_start(pid)
    if now is None:
        # Gone between the two looks, or /proc is not readable here: the pid decides.
        return pid_alive(pid) and not (_PROC / "self/stat").exists()
    return now == start
