"""``opencode session import``: real files shaped like each tool's own (tests/fixtures/imports),
a real subprocess and SQLite file; nothing dropped, nothing duplicated on a second import."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from opencode.sessions.history import history_messages
from opencode.sessions.store.db import Store
from opencode.sessions.store.sessions import SessionRepo
from tests.engine.helpers import db_path, opencode

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"


def _import(project: Path, source: str, path: Path) -> dict[str, Any]:
    out = opencode(project, "session", "import", source, str(path), "--format", "json")
    assert out.code == 0, out.stderr + out.stdout
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def _counts() -> tuple[int, int, int, int]:
    conn = sqlite3.connect(db_path())
    try:
        return tuple(  # type: ignore[return-value]
            conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("session", "message", "part", "import_raw")
        )
    finally:
        conn.close()


async def _history(session_id: str) -> list[Any]:
    store = await Store.open(db_path())
    try:
        return history_messages(await SessionRepo(store).messages(session_id))
    finally:
        await store.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "proj"
    path.mkdir()
    return path


async def test_claude_code_transcript(project: Path) -> None:
    report = _import(project, "claude", FIXTURES / "claude")
    assert report["sessions_new"] == 1 and report["files"] == 1
    raw = report["kept_raw"]
    for kind in ("summary", "file-history-snapshot", "system", "sidechain:user", "not-json"):
        assert raw.get(kind) == 1, (kind, raw)
    assert raw.get("user:image") == 1
    (sid,) = report["session_ids"]
    conn = sqlite3.connect(db_path())
    title, cwd, model = conn.execute("SELECT title, cwd, model FROM session").fetchone()
    assert (title, cwd) == ("Fix tokenizer crash on tabs", "/home/dev/parser")
    assert model == "anthropic/claude-sonnet-4-20250514"
    tokens = conn.execute("SELECT input_tokens, output_tokens FROM session").fetchone()
    assert tokens == (1200 + 1300 + 1400, 12 + 30 + 25)  # msg_01A's usage counted once
    conn.close()
    history = await _history(sid)
    roles = [m.role for m in history]
    assert roles[0] == "user" and "tokenizer crashes on tabs" in history[0].content
    # Each tool call is followed by its result, matched by id, the error one marked.
    tools = [m for m in history if m.role == "tool"]
    assert [t.tool_call_id for t in tools] == ["toolu_01Read", "toolu_01Bash"]
    assert "def tokenize" in tools[0].content and not tools[0].is_error
    assert tools[1].is_error and "FAILED test_tabs" in tools[1].content
    assert history[-1].role == "user" and "screenshot" in history[-1].content

    before = _counts()
    again = _import(project, "claude", FIXTURES / "claude")
    assert again["sessions_unchanged"] == 1 and again["messages"] == 0
    assert _counts() == before

    # Imported sessions are listed and searchable like any other.
    found = opencode(project, "session", "search", "tokenize", "--format", "json")
    assert sid in {h["session_id"] for h in json.loads(found.stdout)["hits"]}


async def test_codex_rollout(project: Path) -> None:
    report = _import(project, "codex", FIXTURES / "codex")
    assert report["sessions_new"] == 1
    raw = report["kept_raw"]
    assert raw["event_msg"] == 3 and raw["compacted"] == 1
    assert raw["response_item:injected_context"] == 1 and raw["session_meta"] == 1
    (sid,) = report["session_ids"]
    history = await _history(sid)
    assert history[0].role == "user" and history[0].content == "Why does npm test fail on CI?"
    call = next(m for m in history if m.tool_calls)
    assert call.tool_calls[0].name == "shell" and "package.json" in call.tool_calls[0].arguments
    result = next(m for m in history if m.role == "tool")
    assert "jest --ci" in result.content and not result.is_error
    assert history[-1].role == "assistant" and "snapshot changes" in history[-1].content
    conn = sqlite3.connect(db_path())
    assert conn.execute("SELECT model, cwd FROM session").fetchone() == (
        "openai/gpt-5-codex",
        "/home/dev/webapp",
    )
    conn.close()
    before = _counts()
    _import(project, "codex", FIXTURES / "codex")
    assert _counts() == before


async def test_opencode_storage(project: Path) -> None:
    report = _import(project, "opencode", FIXTURES / "opencode" / "storage")
    assert report["sessions_new"] == 1
    assert report["kept_raw"] == {"part:step-finish": 1, "part:step-start": 1}
    (sid,) = report["session_ids"]
    history = await _history(sid)
    assert [m.role for m in history] == ["user", "assistant", "tool"]
    assert history[1].tool_calls[0].name == "grep"
    assert history[2].content == "cli.py:3:import argparse"
    assert "--verbose" in history[1].content
    before = _counts()
    _import(project, "opencode", FIXTURES / "opencode" / "storage")
    assert _counts() == before


async def test_a_grown_transcript_adds_only_what_is_new(project: Path, tmp_path: Path) -> None:
    source = tmp_path / "claude"
    shutil.copytree(FIXTURES / "claude", source)
    first = _import(project, "claude", source)
    (transcript,) = source.rglob("*.jsonl")
    line = {
        "type": "user",
        "sessionId": "4f35e220-c435-4cf7-b9b9-f40426042847",
        "cwd": "/home/dev/parser",
        "uuid": "u9",
        "timestamp": "2025-08-02T10:00:00.000Z",
        "message": {"role": "user", "content": "One more thing: handle CRLF too."},
    }
    with transcript.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
    second = _import(project, "claude", source)
    assert second["sessions_updated"] == 1 and second["messages"] == 1
    assert second["session_ids"] == first["session_ids"]
    history = await _history(first["session_ids"][0])
    assert history[-1].content == "One more thing: handle CRLF too."


def test_missing_path_and_empty_folder_are_clear_errors(project: Path, tmp_path: Path) -> None:
    missing = opencode(project, "session", "import", "codex", str(tmp_path / "nope"))
    assert missing.code == 1 and "does not exist" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = opencode(project, "session", "import", "claude", str(tmp_path / "empty"))
    assert empty.code == 1 and "no claude session files" in empty.stderr
    assert "Traceback" not in missing.stderr + empty.stderr


def test_secrets_in_imported_text_never_reach_the_store(project: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    source = tmp_path / "claude"
    shutil.copytree(FIXTURES / "claude", source)
    (transcript,) = source.rglob("*.jsonl")
    token = "ghp_" + "Z" * 36
    line = {
        "type": "user",
        "sessionId": "4f35e220-c435-4cf7-b9b9-f40426042847",
        "uuid": "u10",
        "timestamp": "2025-08-02T10:01:00.000Z",
        "message": {"role": "user", "content": f"my token is {token} and https://me:hunter22@x.io"},
    }
    with transcript.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
        handle.write(json.dumps({"type": "weird", "leak": token}) + "\n")
    proc = subprocess.run(
        [sys.executable, "-m", "opencode.commands.cli", "session", "import", "claude", str(source)],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "GITHUB_TOKEN": token},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    dump = "\n".join(sqlite3.connect(db_path()).iterdump())
    assert token not in dump and "hunter22" not in dump
    assert "[redacted GITHUB_TOKEN]" in dump


def test_default_locations_are_read_when_no_path_is_given(project: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    home = tmp_path / "home"
    shutil.copytree(FIXTURES / "claude", home / ".claude" / "projects")
    shutil.copytree(FIXTURES / "codex", home / ".codex" / "sessions")
    shutil.copytree(FIXTURES / "opencode" / "storage", tmp_path / "xdg" / "opencode" / "storage")
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    for source in ("claude", "codex", "opencode"):
        proc = subprocess.run(
            [sys.executable, "-m", "opencode.commands.cli", "session", "import", source],
            cwd=project,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert "1 new" in proc.stdout, proc.stdout
    assert _counts()[0] == 3
