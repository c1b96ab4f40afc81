"""Ctrl+R's history in a long-used directory: what was sent 5,000 messages ago is still found,
and the text held stays bounded."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from opencode.sessions.prompt_history import PromptFilter, sent_prompts
from opencode.sessions.store.db import Store

CWD = "/proj/long-used"


async def stored(path: Path, messages: int, size: int = 20) -> Store:
    store = await Store.open(path)
    await store.close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO session (id, title, cwd, model, created_at, updated_at)"
            " VALUES ('ses_1', 't', ?, 'm', 0, 0)",
            (CWD,),
        )
        for i in range(messages):
            conn.execute(
                "INSERT INTO message (id, session_id, role, model, finish, created_at)"
                " VALUES (?, 'ses_1', 'user', 'm', 'stop', ?)",
                (f"msg_{i:06d}", i),
            )
            text = f"message {i} " + "x" * size
            conn.execute(
                "INSERT INTO part (id, message_id, session_id, seq, kind, content, created_at,"
                " updated_at) VALUES (?, ?, 'ses_1', 1, 'text', ?, 0, 0)",
                (f"prt_{i:06d}", f"msg_{i:06d}", text),
            )
    conn.close()
    return await Store.open(path)


async def test_the_oldest_of_5000_messages_is_still_searchable(tmp_path: Path) -> None:
    store = await stored(tmp_path / "h.db", 5_000)
    try:
        history = await sent_prompts(store, CWD)
    finally:
        await store.close()
    assert len(history) == 5_000
    assert history[0].startswith("message 4999 ")  # newest first
    assert history[-1].startswith("message 0 ")


async def test_the_text_held_is_bounded(tmp_path: Path) -> None:
    store = await stored(tmp_path / "h.db", 50, size=10_000)
    try:
        history = await sent_prompts(store, CWD, max_chars=100_000)
    finally:
        await store.close()
    assert 0 < len(history) < 50
    assert sum(map(len, history)) <= 100_000
    assert history[0].startswith("message 49 ")


def full_scan(entries: list[str], query: str, limit: int) -> list[int]:
    """What the filter must find: every word of the query in the entry, first ``limit``."""
    words = query.lower().split()
    found = [i for i, e in enumerate(entries) if all(w in e.lower() for w in words)]
    return found[:limit]


def test_a_query_typed_on_finds_matches_past_where_the_shorter_one_stopped() -> None:
    # The first 3 entries fill the limit for "a"; "ab" matches only later ones, past the point
    # where the scan for "a" stopped.
    entries = ["a 1", "a 2", "A 3", "xab", "nothing", "AB again", "ab"]
    search = PromptFilter(entries, limit=3)
    assert search.matches("a") == [0, 1, 2]
    assert search.matches("ab") == [3, 5, 6]
    assert search.matches("ab ") == [3, 5, 6]
    assert search.matches("ab ag") == [5]
    assert search.matches("ab") == [3, 5, 6]  # erasing: a fresh scan
    assert search.matches("zz") == []
    assert search.matches("zzz") == []


def test_typing_and_erasing_finds_what_a_fresh_scan_finds() -> None:
    rng = random.Random(7)
    words = ["Parser", "tok", "tokenizer", "cache", "ΣΟΦΙΑ", "σοφιας", "x"]
    entries = [" ".join(rng.choices(words, k=rng.randint(0, 4))) for _ in range(300)]
    for limit in (1, 5, 50, 1000):
        search = PromptFilter(entries, limit)
        for _ in range(40):
            target = " ".join(rng.choices(words, k=rng.randint(1, 3)))
            typed = [target[:n] for n in range(len(target) + 1)]
            for query in typed + typed[::-1]:
                assert search.matches(query) == full_scan(entries, query, limit), query
