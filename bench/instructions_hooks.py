"""Figures for project instructions and hooks (prints numbers; never pass/fail).

- loading instructions per turn: a git repo 6 folders deep with an AGENTS.md in each, 20
  @includes, and (worst case) a 5 MB AGENTS.md at the root that is cut;
- the cost a PreToolUse hook adds to each tool call: spawning `/bin/bash -c true` with the
  event on stdin, and a hook that hangs, killed at a 0.5 s limit.

Run: PYTHONPATH=. python bench/instructions_hooks.py
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from opencode.sessions.hooks import Hook, run_hook
from opencode.sessions.instructions import load_instructions


def build_repo(root: Path, big: bool) -> Path:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    folder = root
    for depth in range(6):
        (folder / "AGENTS.md").write_text(
            f"level {depth}\n" + "".join(f"see @inc{depth}_{i}.md\n" for i in range(4))
        )
        for i in range(4):
            (folder / f"inc{depth}_{i}.md").write_text("rule " * 200)
        folder = folder / f"d{depth}"
        folder.mkdir()
    if big:
        (root / "AGENTS.md").write_bytes(b"x" * (5 * 1024 * 1024))
    return folder


def time_instructions(big: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cwd = build_repo(Path(tmp), big)
        runs = []
        for _ in range(50):
            started = time.perf_counter()
            loaded = load_instructions(cwd)
            runs.append((time.perf_counter() - started) * 1000)
        label = "with a 5 MB root AGENTS.md" if big else "normal"
        print(
            f"instructions ({label}): {len(loaded.files)} files, {len(loaded.text):,} chars; "
            f"load median {statistics.median(runs):.2f} ms, max {max(runs):.2f} ms"
        )


async def time_hooks() -> None:
    data = {"session_id": "bench", "tool_name": "bash", "tool_input": {"command": "ls"}}
    quick = Hook("PreToolUse", "true")
    runs = []
    for _ in range(30):
        started = time.perf_counter()
        await run_hook(quick, data, Path.cwd())
        runs.append((time.perf_counter() - started) * 1000)
    print(
        f"PreToolUse hook `true`: median {statistics.median(runs):.1f} ms, "
        f"max {max(runs):.1f} ms per tool call"
    )
    hung = Hook("PreToolUse", "sleep 60 & wait", timeout=0.5)
    started = time.perf_counter()
    result = await run_hook(hung, data, Path.cwd())
    print(
        f"hanging hook, 0.5 s limit: returned after {time.perf_counter() - started:.2f} s "
        f"(timed_out={result.timed_out})"
    )


if __name__ == "__main__":
    time_instructions(big=False)
    time_instructions(big=True)
    asyncio.run(time_hooks())
