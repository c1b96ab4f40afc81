"""Opening what every command needs: the config, the store, the working directory."""

from __future__ import annotations

import sys
from pathlib import Path

from commands.registry import CommandContext


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def open_context(cwd: Path, *, interactive: bool = False) -> CommandContext:
    """Load config (ConfigError on bad config) and open the store (StoreError)."""
    from sessions.config import load_config
    from sessions.store.db import Store

    config = load_config(cwd)
    store = await Store.open(config.db_path)
    return CommandContext(
        store=store, config=config, cwd=cwd, progress=_stderr, interactive=interactive
    )
