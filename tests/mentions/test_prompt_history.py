"""Ctrl+R's history in a long-used directory: what was sent 5,000 messages ago is still found,
and the text held stays bounded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from opencode.sessions.prompt_history import sent_prompts
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
