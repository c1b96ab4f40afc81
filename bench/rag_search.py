"""RAG search latency: FTS5 + bm25 + snippet() over N generated notes (prints figures).

Fills a fresh SQLite store with N notes (default 10,000; ~120 words each drawn Zipf-like from a
5,000-word vocabulary, so common words match thousands of notes), then times
``RagIndex.search`` for query kinds from cheap (a rare word) to the worst realistic one (a
common word matching most notes: every match is ranked before the top 10 are cut), plus an
invalid-syntax query that takes the fallback path. Prints p50 / p95 / max per kind.
Goal: p95 <= 10 ms.

Run from the repository root: ``python bench/rag_search.py [--notes 10000] [--repeat 50]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opencode.sessions.rag.index import RagIndex  # noqa: E402
from opencode.sessions.store.db import Store  # noqa: E402


def vocabulary(size: int, rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 10))))
    return sorted(words)


async def main(notes: int, repeat: int) -> None:
    rng = random.Random(7)
    vocab = vocabulary(5000, rng)
    weights = [1 / (rank + 1) for rank in range(len(vocab))]
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "bench.db")
        index = RagIndex(store)
        started = time.perf_counter()
        now = time.time()
        rows = []
        for n in range(notes):
            body = " ".join(rng.choices(vocab, weights, k=120))
            title = " ".join(rng.choices(vocab, weights, k=4))
            rows.append(("note", title, body, f"{n:064x}", now, now))
        async with store.transaction():
            await store.executemany(
                "INSERT INTO rag_doc (kind, path, anchor, root, title, body, sha256, created_at,"
                " updated_at) VALUES (?, NULL, '', '', ?, ?, ?, ?, ?)",
                rows,
            )
        print(f"indexed {notes} notes in {time.perf_counter() - started:.1f} s")
        queries = {
            "rare word": vocab[4000],
            "mid word": vocab[300],
            "two words AND": f"{vocab[50]} {vocab[120]}",
            "phrase": f'"{vocab[0]} {vocab[1]}"',
            "prefix": vocab[10][:3] + "*",
            "common word (worst)": vocab[0],
            "bad syntax fallback": f'"{vocab[20]} {vocab[30]}',
        }
        print(f"{'query':<22}{'hits':>6}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
        for name, query in queries.items():
            times = []
            hits = 0
            for _ in range(repeat):
                t0 = time.perf_counter()
                result = await index.search(query, limit=10)
                times.append((time.perf_counter() - t0) * 1000)
                hits = len(result.hits)
            times.sort()
            p95 = times[max(0, int(len(times) * 0.95) - 1)]
            print(
                f"{name:<22}{hits:>6}{statistics.median(times):>9.2f}{p95:>9.2f}{times[-1]:>9.2f}"
            )
        matches = await store.fetchone(
            "SELECT COUNT(*) AS n FROM rag_fts WHERE rag_fts MATCH ?", (vocab[0],)
        )
        print(f"(the common word matches {matches['n'] if matches else 0} of {notes} notes)")
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=50)
    opts = parser.parse_args()
    asyncio.run(main(opts.notes, opts.repeat))
