"""``/compact FOCUS`` in the chat: the summary call goes to the session's model with the focus,
and the next message the user sends carries the summary instead of the old turns."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.engine.helpers import openai_text_chunks
from tests.support.stream_server import Reply, StreamServer
from tests.tui.conftest import type_and_send, wait_for


def _text(words: str) -> Reply:
    return Reply(body=openai_text_chunks([words]))


async def test_slash_compact_in_the_chat(
    make_app: Any, server: StreamServer, project: Path, tmp_path: Path
) -> None:
    server.add(
        _text("first answer"),
        _text("second answer"),
        _text("TUI-SUMMARY of the first turn"),
        _text("third answer"),
    )
    app = make_app(extra="[compaction]\nkeep_recent_turns = 1\n")
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "/compact")
        await wait_for(pilot, lambda: app.chat.query(".-failed"))
        assert "nothing to compact yet" in app.chat.query(".-failed").last().plain
        for text in ("OLD-TURN question one", "question two"):
            await type_and_send(pilot, text)
            await wait_for(pilot, lambda: app.chat.status.state == "ready")
        await wait_for(pilot, lambda: len(server.requests) == 2)
        await type_and_send(pilot, "/compact the parser")
        await wait_for(pilot, lambda: len(server.requests) == 3)
        await wait_for(pilot, lambda: _compactions(tmp_path) == 1)
        await type_and_send(pilot, "question three")
        await wait_for(pilot, lambda: len(server.requests) == 4)
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
    summary_call = json.dumps(server.requests[2].json())
    assert "the parser" in summary_call and "OLD-TURN question one" in summary_call
    sent = server.requests[3].json()["messages"]
    first_user = next(m for m in sent if m["role"] == "user")
    assert "TUI-SUMMARY of the first turn" in first_user["content"]
    assert not any(m["content"] == "first answer" for m in sent)  # the old reply is summarised
    conn = sqlite3.connect(next(tmp_path.rglob("opencode.db")))
    assert conn.execute("SELECT focus FROM compaction").fetchall() == [("the parser",)]
    conn.close()


def _compactions(root: Path) -> int:
    conn = sqlite3.connect(next(root.rglob("opencode.db")))
    try:
        return int(conn.execute("SELECT COUNT(*) FROM compaction").fetchone()[0])
    finally:
        conn.close()
