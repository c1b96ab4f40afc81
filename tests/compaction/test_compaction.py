"""Compaction end to end: real ``opencode`` subprocesses against a loopback server that
scripts every model reply (the summary included), asserting what the next request carries:
the summary, the user's own words verbatim and the recent turns, not the old tool output."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.engine.helpers import db_path, openai_sse, openai_text_chunks, opencode, write_config
from tests.support.stream_server import Reply, StreamServer

OLD_TOOL_OUTPUT = "ZQX-OLD-TOOL-OUTPUT-7731"
SUMMARY = "SUMMARY: the user wants the parser fixed; notes.txt was read."


def read_call(path: str) -> Reply:
    chunk: dict[str, Any] = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "test-model",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_read_1",
                            "type": "function",
                            "function": {"name": "read", "arguments": json.dumps({"path": path})},
                        }
                    ]
                },
                "finish_reason": None,
            }
        ],
    }
    end = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
    return Reply(body=openai_sse(chunk, end))


def text(*words: str) -> Reply:
    return Reply(body=openai_text_chunks(list(words)))


def contents(body: dict[str, Any]) -> str:
    return json.dumps(body["messages"])


def test_manual_compaction_replaces_old_turns_in_the_next_request(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "notes.txt").write_text(OLD_TOOL_OUTPUT + "\n" * 3 + "x" * 2000, encoding="utf-8")
    replies = [
        read_call("notes.txt"),
        text("I read the notes."),
        text("ok, the lexer next"),
        text(SUMMARY),
        text("continuing"),
    ]
    with StreamServer(replies) as server:
        write_config(project, "openai", server.url, "[compaction]\nkeep_recent_turns = 1\n")
        assert opencode(project, "run", "--yes", "First goal: fix the parser").code == 0
        assert opencode(project, "run", "-c", "Second: now the lexer").code == 0
        sid = sqlite3.connect(db_path()).execute("SELECT id FROM session").fetchone()[0]

        done = opencode(
            project, "session", "compact", sid, "--focus", "parser bugs", "--format", "json"
        )
        assert done.code == 0, done.stderr
        point = json.loads(done.stdout)
        assert point["summary"] == SUMMARY and point["trigger"] == "manual"

        last = opencode(project, "run", "-c", "Third: and the tests")
        assert last.code == 0, last.stderr
        summary_request = server.requests[3].json()
        next_request = server.requests[4].json()

    # The summariser saw the old tool output, the focus and no tools.
    assert OLD_TOOL_OUTPUT in contents(summary_request)
    assert "parser bugs" in contents(summary_request)
    assert not summary_request.get("tools")
    # The next request: summary + the user's words verbatim + the recent turn, no old output.
    sent = contents(next_request)
    assert SUMMARY in sent
    assert "First goal: fix the parser" in sent
    assert "Second: now the lexer" in sent and "ok, the lexer next" in sent
    assert "Third: and the tests" in sent
    assert OLD_TOOL_OUTPUT not in sent
    assert "call_read_1" not in sent

    # Nothing was deleted: the old output is still stored, shown by --full, exported.
    conn = sqlite3.connect(db_path())
    stored = conn.execute(
        "SELECT COUNT(*) FROM part WHERE content LIKE ?", (f"%{OLD_TOOL_OUTPUT}%",)
    )
    assert stored.fetchone()[0] == 1
    conn.close()
    full = opencode(project, "session", "show", sid, "--full")
    assert OLD_TOOL_OUTPUT in full.stdout and "## Compaction (manual" in full.stdout
    assert full.stdout.index(OLD_TOOL_OUTPUT) < full.stdout.index("## Compaction")
    assert full.stdout.index("## Compaction") < full.stdout.index("Second: now the lexer")
    folded = opencode(project, "session", "show", sid)
    assert OLD_TOOL_OUTPUT not in folded.stdout and "compacted" in folded.stdout
    assert OLD_TOOL_OUTPUT in opencode(project, "session", "export", sid).stdout


def test_automatic_compaction_past_the_threshold(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    long_message = "Please remember this requirement: " + "alpha " * 120
    replies = [text("noted"), text(SUMMARY), text("second answer")]
    with StreamServer(replies) as server:
        write_config(
            project,
            "openai",
            server.url,
            "[compaction]\nthreshold = 0.5\nkeep_recent_turns = 0\n",
        )
        config = project / "opencode.toml"
        config.write_text(config.read_text() + "context_window = 200\n", encoding="utf-8")
        first = opencode(project, "run", long_message)
        assert first.code == 0, first.stderr
        second = opencode(project, "run", "-c", "--format", "json", "short follow-up")
        assert second.code == 0, second.stderr
        bodies = [r.json() for r in server.requests]
    assert len(bodies) == 3  # turn 1, the summary, turn 2
    (event,) = second.of_type("compaction")
    assert event["trigger"] == "auto" and event["tokens_after"] < event["tokens_before"]
    assert "short follow-up" not in contents(bodies[1])  # the summary call is not the turn
    sent = contents(bodies[2])
    assert SUMMARY in sent and "short follow-up" in sent
    conn = sqlite3.connect(db_path())
    assert conn.execute("SELECT trigger FROM compaction").fetchall() == [("auto",)]
    conn.close()


def test_nothing_to_compact_is_a_clear_error(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    with StreamServer([text("hi")]) as server:
        write_config(project, "openai", server.url)
        assert opencode(project, "run", "hello").code == 0
        sid = sqlite3.connect(db_path()).execute("SELECT id FROM session").fetchone()[0]
        out = opencode(project, "session", "compact", sid)
    assert out.code == 1 and "nothing to compact" in out.stderr
    assert "Traceback" not in out.stderr
