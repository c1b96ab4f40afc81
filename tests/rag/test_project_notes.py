"""The project's own RAG/ notes: the messages they quote are the ones the code prints, and a
search for a real message finds the note that explains it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.helpers import opencode

ROOT = Path(__file__).resolve().parents[2]
NOTES = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "RAG").rglob("*.md"))

# (a phrase a note quotes, the source file that prints it)
QUOTED = [
    ("is locked by another process", "sessions/store/db.py"),
    ("is damaged", "sessions/store/db.py"),
    ("disk full writing", "sessions/store/db.py"),
    ("is at schema version", "sessions/store/db.py"),
    ("cannot create data directory", "sessions/store/db.py"),
    ("invalid TOML", "sessions/config.py"),
    ("is not set; export it", "sessions/config.py"),
    ("must be written PROVIDER/MODEL", "sessions/config.py"),
    ("was cut off mid-reply", "sessions/providers/http.py"),
    ("rate limited", "sessions/providers/http.py"),
    ("server returned an empty stream", "sessions/providers/openai_chat.py"),
    ("bwrap not installed or not usable; install bubblewrap", "sessions/tools/sandbox.py"),
    ("Permission denied: the user did not allow", "sessions/tool_calls.py"),
    ("cannot listen on", "commands/proxy/serve.py"),
    ("no opencode proxy answers at", "commands/proxy/cmds.py"),
    ("dependency cycle:", "sessions/workflows/spec.py"),
    ("changed since run", "commands/workflow/cmds.py"),
    ("not valid FTS5 query syntax", "sessions/rag/index.py"),
]


@pytest.mark.parametrize(("phrase", "source"), QUOTED)
def test_a_quoted_message_is_printed_by_the_code(phrase: str, source: str) -> None:
    assert phrase in NOTES, f"no RAG note quotes {phrase!r}"
    assert phrase in (ROOT / source).read_text(encoding="utf-8"), f"{source} no longer says it"


@pytest.mark.parametrize(
    ("message", "where"),
    [
        ("cannot listen on 127.0.0.1:4141 (Address already in use)", "errors.md#cannot-listen"),
        ("database /x/opencode.db is locked by another process", "database-path-is-locked"),
        ("dependency cycle: a -> b -> a", "workflows.md#dependency-cycle"),
    ],
)
def test_searching_a_real_message_finds_its_note(message: str, where: str) -> None:
    result = opencode(ROOT, "rag", "search", message, "--limit", "3", "--format", "json")
    assert result.code == 0, result.stderr
    hits = json.loads(result.stdout)["hits"]
    assert any(where in hit["where"] for hit in hits), [h["where"] for h in hits]
