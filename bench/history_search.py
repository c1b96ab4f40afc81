"""Ctrl+R history search over N stored user messages in one directory (the worst case: every
message is a candidate): time to load the history (``sent_prompts``), and per keystroke the
filter (``PromptFilter``), the list rebuild (``HistorySearchScreen.refilter``) and keystroke to
screen, in a headless app.

    PYTHONPATH=$PWD python bench/history_search.py [--messages 10000] [--runs 20]
        [--shown 200] [--rounds 3] [--baseline OLD_history_search.py]

Keystroke to screen is timed from a real key pressed into the query to the first frame drawn
after the list was rebuilt (Textual draws at most 60 frames a second); the key's echo in the
query is drawn in the same frame. The earlier figure (refilter, then ``pilot.pause``), still
printed as "old+pilot.pause", is mostly the harness: ``pilot.pause`` sleeps 20 ms at least,
and 20 ms more whenever the app drew a frame meanwhile. For a before /
after comparison in one run: ``git show REV:tui/screens/history_search.py > /tmp/before.py``
and pass ``--baseline /tmp/before.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from textual.screen import Screen

from opencode.sessions.prompt_history import sent_prompts
from opencode.sessions.store.db import Store
from opencode.tui.screens.history_search import MAX_SHOWN, HistorySearchScreen

# A varied vocabulary, so that most keystrokes change which messages match (the list is rebuilt
# each time: the worst realistic case), and a typo at the end matches nothing (a full scan).
WORDS = (
    "parser tokenizer config session model provider stream retry timeout cache path patch"
    " package python pytest proxy prompt plugin panel pane parse params pipe pool port print"
    " test table task template theme thread token tool trace tree type the this that to"
    " fix bug error build docs review refactor rename move delete add update check run"
    " async await class def import return value list dict string file folder line lines"
).split()
CWD = "/proj/bench"


async def generate(path: Path, messages: int) -> None:
    store = await Store.open(path)
    await store.close()
    rng = random.Random(3)
    conn = sqlite3.connect(path)
    with conn:
        per_session = 50
        for s in range(max(1, messages // per_session)):
            sid = f"ses_{s:06d}"
            conn.execute(
                "INSERT INTO session (id, title, cwd, model, created_at, updated_at)"
                " VALUES (?, 't', ?, 'm', ?, ?)",
                (sid, CWD, 1.7e9 + s, 1.7e9 + s),
            )
            for m in range(per_session):
                for role in ("user", "assistant"):
                    mid = f"msg_{s:06d}_{m:03d}_{role[0]}"
                    conn.execute(
                        "INSERT INTO message (id, session_id, role, model, finish, created_at)"
                        " VALUES (?, ?, ?, 'm', 'stop', ?)",
                        (mid, sid, role, 1.7e9 + s * 1000 + m),
                    )
                    words = rng.choices(WORDS, k=20 if role == "user" else 200)
                    conn.execute(
                        "INSERT INTO part (id, message_id, session_id, seq, kind, content,"
                        " created_at, updated_at) VALUES (?, ?, ?, 1, 'text', ?, 0, 0)",
                        (f"prt_{mid}", mid, sid, f"[bold]{s}-{m}[/] " + " ".join(words)),
                    )
    conn.close()


def pct(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return f"p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  max {times[-1]:7.1f} ms"


async def measure(
    path: Path, runs: int, limits: list[int], rounds: int, screens: dict[str, type[Screen]]
) -> None:
    from opencode.sessions.prompt_history import PromptFilter

    store = await Store.open(path)
    loads = []
    entries: list[str] = []
    for _ in range(runs):
        t = time.perf_counter()
        entries = await sent_prompts(store, CWD)
        loads.append((time.perf_counter() - t) * 1000)
    await store.close()
    print(f"load history ({len(entries)} distinct kept)      {pct(loads)}")
    builds = []
    for _ in range(runs):
        t = time.perf_counter()
        PromptFilter(entries, MAX_SHOWN)
        builds.append((time.perf_counter() - t) * 1000)
    print(f"filter: lowercase all, once per search      {pct(builds)}")
    for query in ("", "pars", "parser tok", "zzz-no-match"):
        times = []
        for _ in range(runs):
            fresh = PromptFilter(entries, MAX_SHOWN)  # no previous query to extend
            t = time.perf_counter()
            fresh.matches(query)
            times.append((time.perf_counter() - t) * 1000)
        print(f"filter {query!r:<16} (full scan)      {pct(times)}")
    # Keystroke to screen: a real key into the query Input, timed until the first frame the
    # compositor produces after the list was rebuilt. The versions and limits take turns,
    # ``rounds`` times, so load on the machine falls on each alike.
    work: dict[tuple[str, int], list[float]] = {}
    latency: dict[tuple[str, int], list[float]] = {}
    paused: dict[tuple[str, int], list[float]] = {}
    for _ in range(rounds):
        for name, screen_type in screens.items():
            for limit in limits:
                key = (name, limit)
                await keystroke_round(
                    entries,
                    runs,
                    screen_type,
                    limit,
                    work.setdefault(key, []),
                    latency.setdefault(key, []),
                    paused.setdefault(key, []),
                )
    for name, limit in work:
        print(f"{name:>6}, {limit:>3} shown: refilter work   {pct(work[name, limit])}")
        print(f"{name:>6}, {limit:>3} shown: key to frame    {pct(latency[name, limit])}")
        print(f"{name:>6}, {limit:>3} shown: old+pilot.pause {pct(paused[name, limit])}")


# Typed one key at a time: extending the query, a typo that matches nothing, then erasing.
KEYS = [*"parser tokz", *["backspace"] * 11]


async def keystroke_round(
    entries: list[str],
    runs: int,
    screen_type: type[Screen],
    limit: int,
    work: list[float],
    latency: list[float],
    paused: list[float],
) -> None:
    from textual.app import App

    old_limit = screen_type.limit  # type: ignore[attr-defined]
    screen_type.limit = limit  # type: ignore[attr-defined]
    app: App[None] = App()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = screen_type(entries)  # type: ignore[call-arg]
        await app.push_screen(screen)
        await pilot.pause()
        frames: list[float] = []
        rebuilt = [0.0, 0.0]
        display = app._display
        refilter = screen.refilter  # type: ignore[attr-defined]

        def timed_display(shown: Screen, renderable: object) -> None:
            frames.append(time.perf_counter())
            display(shown, renderable)  # type: ignore[arg-type]

        def timed_refilter(query: str) -> None:
            rebuilt[0] = time.perf_counter()
            refilter(query)
            rebuilt[1] = time.perf_counter()

        app._display = timed_display  # type: ignore[method-assign]
        screen.refilter = timed_refilter  # type: ignore[attr-defined]
        for i in range(runs):
            frames.clear()
            rebuilt[:] = [0.0, 0.0]
            t = time.perf_counter()
            await pilot.press(KEYS[i % len(KEYS)])
            await pilot.pause()
            after = [f for f in frames if f >= rebuilt[1] > 0]
            while not after:  # the frame is due: wait for it, however long it takes
                await pilot.pause()
                after = [f for f in frames if f >= rebuilt[1] > 0]
            work.append((rebuilt[1] - rebuilt[0]) * 1000)
            latency.append((after[0] - t) * 1000)
        # The earlier measure, kept to compare with figures taken with it: ``pilot.pause``
        # sleeps 20 ms at least while it waits for the app to go idle, so it floors at ~25 ms.
        for i in range(runs):
            t = time.perf_counter()
            refilter("parser tokz"[: 1 + i % 11])
            await pilot.pause()
            paused.append((time.perf_counter() - t) * 1000)
    screen_type.limit = old_limit  # type: ignore[attr-defined]


def load_baseline(path: str) -> type[Screen]:
    """``HistorySearchScreen`` from an earlier version of the module, to run side by side."""
    spec = importlib.util.spec_from_file_location("history_search_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    screen: type[Screen] = module.HistorySearchScreen
    return screen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--shown", default="200", help="options listed per keystroke, compared")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--baseline", help="an earlier tui/screens/history_search.py, timed side by side"
    )
    opts = parser.parse_args()
    limits = [int(n) for n in opts.shown.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        asyncio.run(generate(path, opts.messages))
        print(f"{opts.messages} user messages (+ as many replies) in one directory")
        screens: dict[str, type[Screen]] = {"now": HistorySearchScreen}
        if opts.baseline:
            screens = {"before": load_baseline(opts.baseline), **screens}
        asyncio.run(measure(path, opts.runs, limits, opts.rounds, screens))


if __name__ == "__main__":
    main()
