"""Starting a child process so that cancelling the caller can never leave it running.

``asyncio.create_subprocess_*`` forks the child and then awaits the pipes being connected: a
task cancelled at that await has a running child whose ``Process`` it never received, so no
``finally`` can kill it (a busy machine makes the window wide enough to hit). ``spawn`` runs the
start as its own task; if the caller is cancelled meanwhile, the start is allowed to finish and
the new process group is killed before the cancellation goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable

Process = asyncio.subprocess.Process


def kill_group(proc: Process) -> None:
    """SIGKILL the process group ``proc`` leads (it was started with start_new_session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


async def spawn(start: Callable[[], Awaitable[Process]]) -> Process:
    """``await start()``, but a cancellation that arrives while the child is being started
    kills the child's process group instead of leaving it behind. ``start`` must use
    ``start_new_session=True``."""
    starting = asyncio.ensure_future(start())
    try:
        return await asyncio.shield(starting)
    except asyncio.CancelledError:
        try:
            proc = await starting  # the fork already happened: finish, then take it down
        except BaseException:
            raise asyncio.CancelledError from None
        kill_group(proc)
        raise
