"""Backlog test helpers: a real SQLite store and a command runner that goes through the
registry's parser, exactly as the shell and the chat do."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from opencode.commands.registry import REGISTRY, CommandContext, CommandResult, run_command
from opencode.sessions.config import load_config
from opencode.sessions.store.db import Store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "backlog"
SEED = FIXTURES / "seed_001.md"
MALFORMED = FIXTURES / "malformed.md"

Run = Callable[..., Awaitable[CommandResult]]


@pytest.fixture
async def ctx(tmp_path: Path) -> AsyncIterator[CommandContext]:
    work = tmp_path / "work"
    work.mkdir()
    store = await Store.open(tmp_path / "db.sqlite")
    try:
        yield CommandContext(store=store, config=load_config(work), cwd=work)
    finally:
        await store.close()


@pytest.fixture
def run(ctx: CommandContext) -> Run:
    async def go(*words: str) -> CommandResult:
        command, values = REGISTRY.parse(list(words))
        return await run_command(ctx, command, values)

    return go
