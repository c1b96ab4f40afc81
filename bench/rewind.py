"""How long `session rewind` takes on a large change set (prints figures; never pass/fail).

A session whose one step changed N files (default 500: half modified, a quarter created in
new subfolders, a quarter deleted; 2-8 KiB each) is rewound to just before that step, through
the same call the CLI makes (plan: hash every file, compare with the after-images; then
restore and mark). Goal: <= 1 s for 500 files. Also the dry run alone.

Run from the repository root: `python bench/rewind.py [--files N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opencode.sessions.events import MessageStarted, PartStarted  # noqa: E402
from opencode.sessions.ids import new_id  # noqa: E402
from opencode.sessions.rewind.actions import rewind, store_emitter  # noqa: E402
from opencode.sessions.rewind.snapshots import ABSENT, content_hash  # noqa: E402
from opencode.sessions.store.db import Store  # noqa: E402
from opencode.sessions.store.sessions import SessionRepo  # noqa: E402


async def seed(root: Path, files: int) -> tuple[Store, str, str]:
    store = await Store.open(root / "bench.db")
    repo = SessionRepo(store)
    session = await repo.create(cwd=root / "ws", model="bench/model", title="bench")
    emit = store_emitter(store)
    message = new_id("msg")
    await emit(MessageStarted(session.id, message, "user"))
    await emit(PartStarted(session.id, message, new_id("prt"), 0, "text", "change everything"))
    ws = root / "ws"
    for i in range(files):
        path = ws / f"pkg{i % 20}" / ("new" if i % 4 == 2 else "") / f"f{i}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        before = os.urandom(1024 * (1 + i % 4)).hex().encode()
        kind = i % 4
        if kind in (0, 1):  # modified
            after = before[::-1]
            path.write_bytes(after)
            await repo.record_file_change(
                session.id,
                "call_1",
                path,
                before,
                message_id=message,
                after_hash=content_hash(after),
                source="bash",
            )
        elif kind == 2:  # created
            path.write_bytes(before)
            await repo.record_file_change(
                session.id,
                "call_1",
                path,
                None,
                message_id=message,
                after_hash=content_hash(before),
                source="bash",
            )
        else:  # deleted
            await repo.record_file_change(
                session.id,
                "call_1",
                path,
                before,
                message_id=message,
                after_hash=ABSENT,
                source="bash",
            )
    return store, session.id, message


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store, session_id, message = await seed(Path(tmp), args.files)
        started = time.perf_counter()
        _, plan = await rewind(store, session_id, message, dry_run=True)
        dry = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        _, plan = await rewind(store, session_id, message)
        real = (time.perf_counter() - started) * 1000
        counts: dict[str, int] = {}
        for step in plan.files:
            counts[step.action] = counts.get(step.action, 0) + 1
        await store.close()
    print(f"change set: {args.files} files; result: {counts}")
    print(f"rewind --dry-run: {dry:.0f} ms")
    print(f"rewind (restore + mark files and messages): {real:.0f} ms (goal <= 1000 ms)")


if __name__ == "__main__":
    asyncio.run(main())
