"""The RAG index over a real SQLite file: ranking, refresh by hash, deletions, bad syntax."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from opencode.sessions.rag.index import RagError, RagIndex
from opencode.sessions.rag.sources import sections
from opencode.sessions.store.db import Store
from opencode.sessions.tools.base import ToolContext
from opencode.sessions.tools.rag_search import RagSearchTool


@pytest.fixture
async def index(tmp_path: Path) -> AsyncIterator[RagIndex]:
    store = await Store.open(tmp_path / "rag.db")
    try:
        yield RagIndex(store)
    finally:
        await store.close()


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


async def test_body_only_match_ranks_above_a_weaker_match(index: RagIndex, tmp_path: Path) -> None:
    root = tmp_path / "RAG"
    _write(
        root / "strong.md",
        "# Proxy\n\nThe zanzibar port is taken; zanzibar listeners must stop. "
        "Run with another zanzibar port.\n",
    )
    _write(root / "weak.md", "# Other\n\n" + "filler text " * 40 + "zanzibar once.\n")
    for n in range(8):  # documents without the word, so it is rare enough to weigh
        _write(root / f"none{n}.md", f"# Unrelated {n}\n\nnothing here\n")
    await index.refresh([root])
    result = await index.search("zanzibar")
    assert [Path(h.path or "").name for h in result.hits] == ["strong.md", "weak.md"]
    assert "**zanzibar**" in result.hits[0].snippet
    assert result.hits[0].score > result.hits[1].score


async def test_reindex_reads_only_changed_files_and_drops_deleted_ones(
    index: RagIndex, tmp_path: Path
) -> None:
    root = tmp_path / "RAG"
    edited = _write(root / "a.md", "# A\n\nthe old wording quokka\n")
    deleted = _write(root / "b.md", "# B\n\nwombat lives here\n")
    first = await index.refresh([root])
    assert (first.added, first.updated, first.removed) == (2, 0, 0)

    _write(edited, "# A\n\nthe new wording platypus\n")
    deleted.unlink()
    second = await index.refresh([root])
    assert (second.added, second.updated, second.removed, second.unchanged) == (0, 1, 1, 0)
    assert (await index.search("quokka")).hits == []
    assert [h.path for h in (await index.search("platypus")).hits] == [str(edited)]
    assert (await index.search("wombat")).hits == []

    third = await index.refresh([root])
    assert (third.updated, third.unchanged) == (0, 1)


async def test_bad_fts_syntax_falls_back_to_words(index: RagIndex, tmp_path: Path) -> None:
    await index.add_note("Locked database", "database is locked by another process")
    for query in ('"database is locked', "title:: locked", "locked AND", "NEAR(("):
        result = await index.search(query)
        assert result.mode == "words", query
        assert result.note and "searched for any of its words" in result.note
    assert [h.title for h in (await index.search('"database is locked')).hits] == [
        "Locked database"
    ]
    with pytest.raises(RagError, match="nothing to search for"):
        await index.search('""')


async def test_note_crud(index: RagIndex, tmp_path: Path) -> None:
    note = await index.add_note("Port in use", "opencode proxy: address already in use")
    assert [h.id for h in (await index.search("address")).hits] == [note]
    await index.update_note(note, title=None, body="choose another port with --port")
    assert (await index.search("address")).hits == []
    assert [h.id for h in (await index.search("port")).hits] == [note]
    await index.remove_note(note)
    assert (await index.search("port")).hits == []
    with pytest.raises(RagError, match="no RAG entry"):
        await index.remove_note(note)


async def test_file_sections_cannot_be_edited_as_notes(index: RagIndex, tmp_path: Path) -> None:
    root = tmp_path / "RAG"
    _write(root / "a.md", "# A\n\n## One\nalpha text\n")
    await index.refresh([root])
    hit = (await index.search("alpha")).hits[0]
    assert hit.anchor == "one"
    with pytest.raises(RagError, match="not a note") as info:
        await index.remove_note(hit.id)
    assert info.value.hint and "reindex" in info.value.hint


def test_sections_split_at_headings_but_not_inside_code_fences() -> None:
    text = "# Title\nintro\n## First\none\n```\n## not a heading\n```\n## First\ntwo\n"
    found = sections(text, "fallback")
    assert [(s.anchor, s.title) for s in found] == [
        ("", "Title"),
        ("first", "Title › First"),
        ("first-2", "Title › First"),
    ]
    assert "## not a heading" in found[1].body


async def test_rag_search_tool_finds_the_projects_notes(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    _write(project / "RAG" / "db.md", "# Database\n\n## Disk full\nfree space, then retry\n")
    ctx = ToolContext(cwd=project, session_id="s", call_id="c", record_change=_no_record)
    tool = RagSearchTool()
    result = await tool.run({"query": "disk full"}, ctx)
    assert not result.is_error
    assert "Database › Disk full" in result.output and "db.md#disk-full" in result.output
    empty = await tool.run({"query": "zzzqqq"}, ctx)
    assert empty.output == "no notes match 'zzzqqq'"
    assert Path(os.environ["OPENCODE_DATA_DIR"], "opencode.db").exists()


async def _no_record(path: Path, before: bytes | None) -> None:
    return None


async def test_refresh_skips_unchanged_stamps_and_catches_same_size_edits(
    index: RagIndex, tmp_path: Path
) -> None:
    root = tmp_path / "RAG"
    note = _write(root / "a.md", "# A\n\nalpha\n")
    await index.refresh([root])
    os.utime(note, ns=(1, 1))  # touched: new mtime, same bytes
    touched = await index.refresh([root])
    assert (touched.updated, touched.unchanged) == (0, 1)
    note.write_text("# A\n\ngamma\n", encoding="utf-8")  # same size, new mtime
    edited = await index.refresh([root])
    assert edited.updated == 1
    assert [h.path for h in (await index.search("gamma")).hits] == [str(note)]
