"""Session search over 100k generated messages: p50/p95/max per query shape.

The database is generated with plain SQL (1,000 sessions x 100 messages, half of them with a
tool output) through the real migrations and triggers, then searched through
``opencode.sessions.search.search`` as ``opencode session search`` does. Goal: p95 <= 50 ms.

    PYTHONPATH=$PWD python bench/session_search.py [--messages 100000] [--runs 30]
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

from opencode.sessions.search import search
from opencode.sessions.store.db import Store

WORDS = (
    "parser tokenizer config session model provider stream retry timeout cache index query "
    "file path error warning test build install deploy branch commit merge rebase docker "
    "python rust typescript function class method variable import module package server "
    "client request response header body json yaml toml sqlite table column trigger"
).split()


# Real text is Zipf-distributed: a few words everywhere, most words rare. 20,000 made-up
# words ranked by frequency, with the named words placed at ranks from common to rare, plus
# "the" at rank 1 as the worst case (in nearly every message).
_VOCAB = [f"w{i}" for i in range(20_000)]
_VOCAB[0] = "the"
for _rank, _word in zip(range(5, 5 * len(WORDS), 5), WORDS, strict=False):
    _VOCAB[_rank * 8] = _word
_WEIGHTS = [1 / (r + 1) for r in range(len(_VOCAB))]
_CUM = list(__import__("itertools").accumulate(_WEIGHTS))


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(_VOCAB, cum_weights=_CUM, k=n))


async def generate(path: Path, messages: int) -> float:
    store = await Store.open(path)  # migrations + triggers
    await store.close()
    rng = random.Random(7)
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    per_session = 100
    sessions = max(1, messages // per_session)
    with conn:
        for s in range(sessions):
            sid = f"ses_{s:06d}"
            cwd = f"/proj/{s % 20}"
            model = ["openai/gpt-4o", "anthropic/claude", "local/qwen"][s % 3]
            conn.execute(
                "INSERT INTO session (id, title, cwd, model, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (sid, _text(rng, 4), cwd, model, 1.7e9 + s, 1.7e9 + s),
            )
            msgs, parts = [], []
            for m in range(per_session):
                mid = f"msg_{s:06d}_{m:04d}"
                role = "user" if m % 2 == 0 else "assistant"
                msgs.append((mid, sid, role, model, "stop", 1.7e9 + s * 1000 + m))
                parts.append(
                    (f"prt_{mid}_1", mid, sid, 1, "text", _text(rng, 40 if role == "user" else 120))
                )
                if role == "assistant" and m % 4 == 1:
                    out = _text(rng, 200) + (
                        " zanzibar_unique_marker" if rng.random() < 0.001 else ""
                    )
                    parts.append((f"prt_{mid}_2", mid, sid, 2, "tool_result", out))
            conn.executemany(
                "INSERT INTO message (id, session_id, role, model, finish, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                msgs,
            )
            conn.executemany(
                "INSERT INTO part (id, message_id, session_id, seq, kind, content, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
                parts,
            )
    conn.close()
    return time.perf_counter() - started


async def measure(path: Path, runs: int) -> None:
    store = await Store.open(path)
    shapes: dict[str, dict[str, object]] = {
        "worst: 'the' (~all)": {"query": "the"},
        "common word": {"query": "parser"},
        "two words (AND)": {"query": "parser session"},
        "phrase": {"query": '"the parser"'},
        "prefix": {"query": "tok*"},
        "rare word": {"query": "zanzibar_unique_marker"},
        "common + --dir": {"query": "parser", "cwd": "/proj/3"},
        "common + --model": {"query": "parser", "model": "gpt-4o"},
        "bad syntax (fallback)": {"query": 'parser "('},
    }
    print(f"{'query':<24}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'hits':>6}")
    try:
        for name, kw in shapes.items():
            times = []
            hits: list[object] = []
            for _ in range(runs):
                t = time.perf_counter()
                hits, _ = await search(store, limit=20, **kw)  # type: ignore[arg-type]
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            print(
                f"{name:<24}{statistics.median(times):>9.1f}{p95:>9.1f}{times[-1]:>9.1f}"
                f"{len(hits):>6}"
            )
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        took = asyncio.run(generate(path, opts.messages))
        size = path.stat().st_size / 1e6
        print(f"generated {opts.messages} messages in {took:.1f} s ({size:.0f} MB with index)")
        asyncio.run(measure(path, opts.runs))


if __name__ == "__main__":
    main()
