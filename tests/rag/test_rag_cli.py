"""``opencode rag ...`` as a real subprocess: search, add/update/remove, bad input."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine.helpers import opencode


def test_rag_cli_round_trip(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "RAG").mkdir(parents=True)
    (project / "RAG" / "net.md").write_text("# Net\n\n## Refused\nconnection refused: start it\n")
    (project / "docs").mkdir()
    (project / "docs" / "extra.md").write_text("# Extra\n\nkookaburra docs\n")
    (project / "opencode.toml").write_text('[rag]\npaths = ["docs"]\n')

    found = opencode(project, "rag", "search", "kookaburra", "--format", "json")
    assert found.code == 0, found.stderr
    hits = json.loads(found.stdout)["hits"]
    assert [Path(h["path"]).name for h in hits] == ["extra.md"]

    added = opencode(project, "rag", "add", "--title", "Emu", "--text", "emu feathers")
    assert added.code == 0, added.stderr
    out = opencode(project, "run", "/rag search emu", "--format", "json")
    note_id = json.loads(out.stdout)["hits"][0]["id"]
    assert opencode(project, "rag", "update", str(note_id), "--text", "cassowary").code == 0
    assert "cassowary" in opencode(project, "rag", "search", "cassowary").stdout
    assert opencode(project, "rag", "remove", str(note_id)).code == 0
    gone = opencode(project, "rag", "remove", str(note_id))
    assert gone.code == 1 and "no RAG entry" in gone.stderr and "Traceback" not in gone.stderr

    bad = opencode(project, "rag", "search", '"unbalanced', "refused")
    assert bad.code == 0 and "Traceback" not in bad.stderr
    assert "not valid FTS5 query syntax" in bad.stdout and "net.md#refused" in bad.stdout


def test_rag_paths_must_be_a_list(tmp_path: Path) -> None:
    (tmp_path / "opencode.toml").write_text('[rag]\npaths = "docs"\n')
    result = opencode(tmp_path, "rag", "reindex")
    assert result.code == 2
    assert "[rag] paths must be a list" in result.stderr
