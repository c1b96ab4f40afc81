"""Opening what every command needs: the config, the store, the working directory."""

from __future__ import annotations

import sys
from pathlib import Path

from opencode.commands.registry import CommandContext


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def open_context(cwd: Path, *, interactive: bool = False) -> CommandContext:
    """Load config (ConfigError on bad config) and open the store (StoreError)."""
    from opencode.sessions.config import load_config
    from opencode.sessions.store.db import Store

    config = load_config(cwd)
    store = await Store.open(config.db_path)
    return CommandContext(
        store=store, config=config, cwd=cwd, progress=_stderr, interactive=interactive
    )


async def open_context_or_report(cwd: Path) -> CommandContext | int:
    """``open_context``, or the exit code after telling the user why it failed:
    2 for a config error (what, where, expected), 1 for an unusable database."""
    from opencode.sessions.config import ConfigError
    from opencode.sessions.store.db import StoreError

    try:
        return await open_context(cwd)
    except ConfigError as exc:
        print(f"opencode: config error: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"opencode: {exc}", file=sys.stderr)
        return 1
