"""Plan-versus-reality sync for ``backlog sync``: the three steps in order.

1. ``evidence``: read the git repository (async git, never blocking the event loop);
2. ``classify``: weigh the evidence per open item (in a worker thread: it reads test files);
3. ``report``: render the markdown report (the command writes it with the JSON state).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from opencode.commands.backlog.classify import SyncState, classify
from opencode.commands.backlog.evidence import collect
from opencode.commands.backlog.model import BacklogItem


async def check_reality(
    items: list[BacklogItem], repo: Path, since: str | None = None, now: float | None = None
) -> SyncState:
    """Analyse every open item against ``repo`` (read-only); raises ``RealityError``."""
    evidence = await collect(repo, since)
    return await asyncio.to_thread(classify, items, evidence, since, now)
