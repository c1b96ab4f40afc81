"""Session search: the FTS5 index kept by triggers on the real write path (StoreWriter events),
ranking and snippets, bad syntax, filters, and soft delete / purge through the real CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from opencode.sessions.events import (
    MessageFinished,
    MessageStarted,
    PartDelta,
    PartStarted,
    SessionCreated,
    ToolFinished,
)
from opencode.sessions.search import search
from opencode.sessions.store.db import Store
from opencode.sessions.store.writer import StoreWriter
from tests.engine.helpers import db_path, opencode


async def _turn(
    writer: StoreWriter, sid: str, n: int, user: str, reply_chunks: list[str], tool_out: str = ""
) -> None:
    await writer(MessageStarted(sid, f"msg_{n:04d}u", "user"))
    await writer(PartStarted(sid, f"msg_{n:04d}u", f"prt_{n:04d}u", 1, "text", user))
    await writer(MessageFinished(sid, f"msg_{n:04d}u", "stop"))
    mid = f"msg_{n:04d}a"
    await writer(MessageStarted(sid, mid, "assistant", "mock/test-model"))
    await writer(PartStarted(sid, mid, f"prt_{n:04d}a", 1, "text"))
    for chunk in reply_chunks:
        await writer(PartDelta(sid, f"prt_{n:04d}a", "text", chunk))
        await writer.flush()  # every chunk a separate UPDATE: the worst case for the index
    if tool_out:
        await writer(
            ToolFinished(
                sid,
                mid,
                f"prt_{n:04d}c",
                f"prt_{n:04d}r",
                2,
                f"call_{n}",
                "bash",
                "completed",
                tool_out,
                3,
            )
        )
    await writer(MessageFinished(sid, mid, "stop"))


async def _seed(path: Path, cwd: str = "/proj") -> Store:
    store = await Store.open(path)
    writer = StoreWriter(store)
    await writer(SessionCreated("ses_a", cwd, "mock/test-model", "fix the parser"))
    await _turn(
        writer,
        "ses_a",
        1,
        "why does the tokenizer crash",
        ["The tok", "enizer crashes ", "on tabs"],
    )
    await _turn(
        writer, "ses_a", 2, "run the tests", ["Done."], "FAILED test_unicode_zebra - KeyError"
    )
    await writer(SessionCreated("ses_b", "/other", "openai/gpt-4o", "zebra stripes"))
    await _turn(writer, "ses_b", 3, "draw a zebra zebra zebra", ["Here is a zebra."])
    await writer.flush()
    return store


async def test_streamed_text_is_indexed_once_at_message_finish(tmp_path: Path) -> None:
    store = await _seed(tmp_path / "db.sqlite")
    try:
        hits, phrase = await search(store, "tokenizer")
        assert not phrase
        assert {h.session_id for h in hits} == {"ses_a"}
        # The assistant reply was written in three UPDATEs; it is indexed whole, once.
        rows = await store.fetchall("SELECT COUNT(*) FROM part_fts")
        parts = await store.fetchall(
            "SELECT COUNT(*) FROM part WHERE kind IN ('text','tool_result') AND content != ''"
        )
        assert rows[0][0] == parts[0][0]
        hit = (await search(store, "crashes"))[0][0]
        assert "\x02crashes\x03" in hit.snippet
    finally:
        await store.close()


async def test_tool_output_is_searchable_and_ranked_by_bm25(tmp_path: Path) -> None:
    store = await _seed(tmp_path / "db.sqlite")
    try:
        hits, _ = await search(store, "zebra")
        kinds = {(h.session_id, h.kind) for h in hits}
        assert ("ses_a", "tool_result") in kinds
        # Three zebras in a short user message outrank one zebra in a tool line.
        assert hits[0].session_id == "ses_b"
        assert [h.rank for h in hits] == sorted(h.rank for h in hits)
    finally:
        await store.close()


async def test_filters_dir_model_since(tmp_path: Path) -> None:
    store = await _seed(tmp_path / "db.sqlite")
    try:
        assert {h.session_id for h in (await search(store, "zebra", cwd="/proj"))[0]} == {"ses_a"}
        assert {h.session_id for h in (await search(store, "zebra", model="gpt-4o"))[0]} == {
            "ses_b"
        }
        assert (await search(store, "zebra", since=4_000_000_000))[0] == []
    finally:
        await store.close()


async def test_bad_fts_syntax_falls_back_to_a_phrase(tmp_path: Path) -> None:
    store = await _seed(tmp_path / "db.sqlite")
    try:
        for query in ['tokenizer crash"', "tokenizer AND", "(tokenizer", "NEAR(", "tokenizer:*"]:
            hits, phrase = await search(store, query)
            assert phrase, query
        hits, phrase = await search(store, '"tokenizer crash')
        assert phrase and hits and hits[0].session_id == "ses_a"
    finally:
        await store.close()


async def test_a_part_deleted_leaves_the_index(tmp_path: Path) -> None:
    store = await _seed(tmp_path / "db.sqlite")
    try:
        await store.execute("DELETE FROM part WHERE id = 'prt_0002r'")
        hits, _ = await search(store, "zebra")
        assert all(h.kind != "tool_result" for h in hits)
        await store.execute("UPDATE part SET content = 'giraffe' WHERE id = 'prt_0003u'")
        assert (await search(store, "giraffe"))[0][0].session_id == "ses_b"
    finally:
        await store.close()


def test_cli_search_delete_purge(tmp_path: Path) -> None:
    import asyncio

    project = tmp_path / "proj"
    project.mkdir()
    store = asyncio.run(_seed(db_path(), cwd=str(project)))
    asyncio.run(store.close())

    out = opencode(project, "session", "search", "zebra", "--format", "json")
    assert out.code == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["hits"][0]["session_id"] == "ses_b"
    assert "[zebra]" in data["hits"][0]["snippet"]

    text = opencode(project, "session", "search", 'zebra"(')
    assert text.code == 0 and "Traceback" not in text.stderr
    assert "phrase" in text.stdout

    punct = opencode(project, "session", "search", "((")
    assert punct.code == 2 and "nothing to search for" in punct.stderr
    assert "Traceback" not in punct.stderr

    renamed = opencode(project, "session", "rename", "ses_b", "Zebra", "drawing")
    assert renamed.code == 0
    refused = opencode(project, "session", "delete", "ses_b")
    assert refused.code == 2 and "--yes" in refused.stderr + refused.stdout
    assert "ses_b" in opencode(project, "session", "list", "--all").stdout

    assert opencode(project, "session", "delete", "ses_b", "--yes").code == 0
    assert "ses_b" not in opencode(project, "session", "list", "--all").stdout
    hits = json.loads(opencode(project, "session", "search", "zebra", "--format", "json").stdout)
    assert {h["session_id"] for h in hits["hits"]} == {"ses_a"}

    # Still on disk until purged; an older-than window keeps it.
    assert opencode(project, "session", "purge", "--older-than", "1").code == 0
    conn = sqlite3.connect(db_path())
    assert conn.execute("SELECT title FROM session WHERE id='ses_b'").fetchone()[0] == (
        "Zebra drawing"
    )
    conn.close()
    assert opencode(project, "session", "purge").code == 0
    conn = sqlite3.connect(db_path())
    assert conn.execute("SELECT COUNT(*) FROM session WHERE id='ses_b'").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM part WHERE session_id='ses_b'").fetchone()[0] == 0
    fts = conn.execute("SELECT COUNT(*) FROM part_fts WHERE part_fts MATCH 'giraffe OR draw'")
    assert fts.fetchone()[0] == 0
    conn.close()


async def test_a_very_common_query_ranks_the_newest_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import opencode.sessions.search as search_module

    store = await _seed(tmp_path / "db.sqlite")
    try:
        monkeypatch.setattr(search_module, "RANK_WINDOW", 2)
        # "zebra" is in 3 parts (ses_a's tool output, ses_b's two messages): only the newest 2
        # (ses_b) are ranked when nothing filters...
        hits, _ = await search(store, "zebra")
        assert [h.session_id for h in hits] == ["ses_b", "ses_b"]
        # ...but a filter that the newest do not pass still finds the older one.
        hits, _ = await search(store, "zebra", cwd="/proj", limit=1)
        assert [h.session_id for h in hits] == ["ses_a"]
    finally:
        await store.close()


def test_a_deleted_session_is_not_continued_and_undo_brings_it_back(tmp_path: Path) -> None:
    import asyncio

    project = tmp_path / "proj"
    project.mkdir()
    store = asyncio.run(_seed(db_path(), cwd=str(project)))
    asyncio.run(store.close())
    assert opencode(project, "session", "delete", "ses_a", "--yes").code == 0
    cont = opencode(project, "run", "-c", "go on")
    assert cont.code == 2 and "no earlier session" in cont.stderr
    assert opencode(project, "session", "delete", "ses_a", "--undo").code == 0
    assert "ses_a" in opencode(project, "session", "list").stdout
