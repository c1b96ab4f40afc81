"""Ctrl+R history search over N stored user messages in one directory (the worst case: every
message is a candidate): time to load the history (``sent_prompts``), and per keystroke the
filter (``matches``) and the list rebuild (``HistorySearchScreen.refilter``, in a headless app).

    PYTHONPATH=$PWD python bench/history_search.py [--messages 10000] [--runs 20]
        [--shown 200,50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from opencode.sessions.prompt_history import sent_prompts
from opencode.sessions.store.db import Store

WORDS = "parser tokenizer config session model provider stream retry timeout cache".split()
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
                    words = rng.choices(WORDS, k=30 if role == "user" else 200)
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


async def measure(path: Path, runs: int, limits: list[int], rounds: int) -> None:
    from opencode.tui.screens.history_search import matches

    store = await Store.open(path)
    loads = []
    entries: list[str] = []
    for _ in range(runs):
        t = time.perf_counter()
        entries = await sent_prompts(store, CWD)
        loads.append((time.perf_counter() - t) * 1000)
    await store.close()
    print(f"load history ({len(entries)} distinct kept)      {pct(loads)}")
    for query in ("", "pars", "parser tok", "zzz-no-match"):
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            matches(entries, query)
            times.append((time.perf_counter() - t) * 1000)
        print(f"filter {query!r:<16}                  {pct(times)}")
    # The list rebuild per keystroke, for each number of options listed, side by side: the
    # limits take turns, ``rounds`` times, so load on the machine falls on each alike.
    keystrokes: dict[int, list[float]] = {limit: [] for limit in limits}
    for _ in range(rounds):
        await keystroke_round(entries, runs, limits, keystrokes)
    for limit in limits:
        label = f"keystroke: refilter + frame ({limit} shown)"
        print(f"{label:<44}{pct(keystrokes[limit])}")


async def keystroke_round(
    entries: list[str], runs: int, limits: list[int], keystrokes: dict[int, list[float]]
) -> None:
    from textual.app import App

    from opencode.tui.screens.history_search import MAX_SHOWN, HistorySearchScreen

    for limit in limits:
        HistorySearchScreen.limit = limit
        app: App[None] = App()
        async with app.run_test(size=(100, 30)) as pilot:
            screen = HistorySearchScreen(entries)
            await app.push_screen(screen)
            await pilot.pause()
            times = []
            for i in range(runs):
                t = time.perf_counter()
                screen.refilter("pars"[: 1 + i % 4])
                await pilot.pause()
                times.append((time.perf_counter() - t) * 1000)
            keystrokes[limit].extend(times)
    HistorySearchScreen.limit = MAX_SHOWN


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--shown", default="200,50", help="options listed per keystroke, compared")
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    limits = [int(n) for n in opts.shown.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        asyncio.run(generate(path, opts.messages))
        print(f"{opts.messages} user messages (+ as many replies) in one directory")
        asyncio.run(measure(path, opts.runs, limits, opts.rounds))


if __name__ == "__main__":
    main()
