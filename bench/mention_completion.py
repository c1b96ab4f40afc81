"""``@file`` completion in a big repository: listing, indexing, ranking, and keystroke latency.

Usage: python bench/mention_completion.py [--files 50000] [--probes 40]

Generates a tree of ``--files`` files (nested folders, word-like names, a ``.gitignore`` that
hides a build folder of 5,000 more), then, in a git work tree (all files untracked, so git
walks them: the slower case) and in a plain folder (the ``.gitignore``-aware walk):
- the listing time (``project_files``) and the index build time (``FileIndex``);
- rank latency p50/p95/max over queries typed a character at a time (basename prefixes,
  path subsequences, and queries that match nothing: the worst case, every tier scanned);
- in the app (headless, 120x40, git tree): keystroke-to-frame latency p50/p95/max while typing
  ``@`` and those queries into the prompt, from the key sent as the terminal driver sends it
  until the suggestion list shows the new ranking and the next screen refresh has run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OPENCODE_TRUST_PROJECT", "1")

WORDS = (
    "alpha beta gamma delta core util parser lexer token model view store cache index "
    "server client proxy route handler config schema event queue worker task session "
    "widget screen panel table chart report export import sync target backlog verify"
).split()
EXTS = [".py", ".ts", ".md", ".json", ".toml", ".txt", ".go", ".rs"]


def make_tree(root: Path, files: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    made: list[str] = []
    dirs = [
        Path(rng.choice(WORDS), rng.choice(WORDS), f"{rng.choice(WORDS)}{i}")
        for i in range(files // 100)
    ]
    for i in range(files):
        rel = dirs[i % len(dirs)] / f"{rng.choice(WORDS)}_{rng.choice(WORDS)}{i}{rng.choice(EXTS)}"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        made.append(rel.as_posix())
    build = root / "build"
    build.mkdir()
    for i in range(5000):
        (build / f"out{i}.o").write_bytes(b"")
    (root / ".gitignore").write_text("build/\n")
    return made


def queries(paths: list[str], rng: random.Random) -> list[str]:
    """Queries as typed: every prefix of a few realistic and hopeless queries."""
    picks = rng.sample(paths, 4)
    full = [Path(picks[0]).name[:8], Path(picks[1]).stem[-6:], "srvhdl", "zzqx", picks[2][:12]]
    return [q[:n] for q in full for n in range(1, len(q) + 1)]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def line(label: str, values: list[float]) -> str:
    return (
        f"{label}: p50 {pct(values, 0.5):.2f} ms  p95 {pct(values, 0.95):.2f} ms  "
        f"max {max(values):.2f} ms  (n={len(values)})"
    )


async def listing(root: Path, typed: list[str]) -> None:
    from opencode.sessions.mentions import FileIndex, project_files

    t0 = time.perf_counter()
    files = await project_files(root)
    t1 = time.perf_counter()
    index = FileIndex(files)
    t2 = time.perf_counter()
    listed_ms, built_ms = (t1 - t0) * 1000, (t2 - t1) * 1000
    print(f"  listed {len(files)} paths in {listed_ms:.0f} ms; index built in {built_ms:.0f} ms")
    assert not any(p.startswith("build/") for p in files), "ignored files were listed"
    lags = []
    for query in typed:
        s = time.perf_counter()
        index.rank(query)
        lags.append((time.perf_counter() - s) * 1000)
    print("  " + line("rank", lags))


async def in_app(root: Path, typed: list[str]) -> None:
    from textual import events

    from bench.tui_latency import PAINT_WAITERS, watch_frames
    from opencode.tui.app import OpencodeApp
    from opencode.tui.widgets.mentions import MentionSuggestions
    from tests.support.tui_app import config_for_tests

    watch_frames()
    with tempfile.TemporaryDirectory() as data:
        config = config_for_tests(Path(data))
        app = OpencodeApp(config=config, cwd=root, open_session=False)
        async with app.run_test(size=(120, 40)) as pilot:
            prompt = app.chat.prompt
            box = app.chat.query_one(MentionSuggestions)
            prompt.focus()
            await pilot.press("@")
            await app.workers.wait_for_complete()  # the file listing
            assert prompt.files is not None and prompt.files.index is not None
            index = prompt.files.index
            lags: list[float] = []
            for query in typed:
                prompt.load_text("see @" + query[:-1])
                prompt.move_cursor(prompt.document.end)
                await pilot.pause()
                want = index.rank(query)[:1]
                loop = asyncio.get_running_loop()
                painted: asyncio.Future[float] = loop.create_future()

                def shown(want: list[str] = want, query: str = query) -> bool:
                    first = box.get_option_at_index(0).id if box.option_count else None
                    return prompt.text.endswith(query) and (not want or first == want[0])

                PAINT_WAITERS.append((painted, shown))
                start = time.perf_counter()
                key = events.Key(query[-1], query[-1])
                key.set_sender(app)
                app._driver.send_message(key)  # the terminal's own path
                lags.append((await asyncio.wait_for(painted, 10) - start) * 1000)
    print("  " + line("keystroke to frame (in app)", lags))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=50_000)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        t0 = time.perf_counter()
        paths = make_tree(root, args.files)
        print(f"generated {args.files} files (+5000 ignored) in {time.perf_counter() - t0:.1f} s")
        typed = queries(paths, random.Random(3))
        print("plain folder (.gitignore-aware walk):")
        await listing(root, typed)
        await asyncio.to_thread(subprocess.run, ["git", "init", "-q", str(root)], check=True)
        print("git work tree (git ls-files --cached --others --exclude-standard):")
        await listing(root, typed)
        await in_app(root, typed)
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    asyncio.run(main())
