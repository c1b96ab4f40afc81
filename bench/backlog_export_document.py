"""How long `backlog export` takes when it writes an imported file back (prints figures;
never pass/fail).

Generates a groomed-backlog file of N items, imports it through the real command into a fresh
SQLite store, then times: an export with nothing changed (all lines verbatim), and an export
after every 10th item was marked done (those items patched), each including the re-parse
that checks the result. Worst realistic case: every item in one file, a tenth of them edited.

Run from the repository root: `python bench/backlog_export_document.py [--items 5000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opencode.commands.backlog.exporter import export_backlog  # noqa: E402
from opencode.commands.backlog.model import BacklogItem, Criterion  # noqa: E402
from opencode.commands.registry import REGISTRY, CommandContext, run_command  # noqa: E402
from opencode.sessions.config import load_config  # noqa: E402
from opencode.sessions.store.db import Store  # noqa: E402


def _items(count: int) -> list[BacklogItem]:
    return [
        BacklogItem(
            title=f"Generated task number {n}",
            key=f"Task-{n:05d}",
            number=n,
            priority="Medium (generated)",
            effort="Small (1 hour)",
            status="ready",
            criteria=[Criterion(f"criterion {n}.{c}") for c in range(4)],
            notes="Context paragraph for the task. " * 10,
        )
        for n in range(1, count + 1)
    ]


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = root / "backlog.md"
        source.write_text(export_backlog(_items(count)), encoding="utf-8")
        store = await Store.open(root / "db.sqlite")
        ctx = CommandContext(store=store, config=load_config(root), cwd=root)

        async def run(*words: str) -> float:
            command, values = REGISTRY.parse(list(words))
            started = time.perf_counter()
            result = await run_command(ctx, command, values)
            assert result.exit_code == 0, result.text
            return time.perf_counter() - started

        try:
            size = source.stat().st_size
            print(f"file: {count} items, {size / 1e6:.1f} MB")
            print(f"import: {await run('backlog', 'import', str(source)):.2f} s")
            print(f"export, unchanged: {await run('backlog', 'export', '-o', 'a.md'):.2f} s")
            assert (root / "a.md").read_text(encoding="utf-8") == source.read_text("utf-8")
            for n in range(1, count + 1, 10):
                await run("backlog", "check", f"Task-{n:05d}", "1")
            edited = await run("backlog", "export", "-o", "b.md")
            print(f"export, {count // 10} items edited: {edited:.2f} s")
        finally:
            await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=5000)
    asyncio.run(main(parser.parse_args().items))
