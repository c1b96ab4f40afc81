"""``opencode run --input-format stream-json``: a real subprocess reading JSON Lines on stdin,
a real loopback server answering each turn; bad lines are reported and the run goes on."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from opencode.commands.stream_input import LineError, UserLine, parse_line
from tests.engine.helpers import db_path, openai_text_chunks, opencode, write_config
from tests.support.stream_server import Reply, StreamServer


def test_parse_line_shapes() -> None:
    claude = b'{"type":"user","message":{"role":"user","content":[{"type":"text","text":"hi"}]}}'
    assert parse_line(1, claude) == UserLine(1, "hi")
    assert parse_line(2, b'{"text": "yo"}\n') == UserLine(2, "yo")
    assert parse_line(3, b"   \n") is None
    for raw, fragment in [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not an object"),
        (b'{"type":"control_request"}', "'control_request' record"),
        (b'{"text": ""}', "empty message"),
        (b"\xff\xfe", "not UTF-8"),
    ]:
        error = parse_line(7, raw)
        assert isinstance(error, LineError) and fragment in error.message
        assert error.message.startswith("line 7 ")


def test_each_line_is_a_turn_in_one_session_and_bad_lines_are_reported(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    replies = [Reply(body=openai_text_chunks([f"answer {i}"])) for i in (1, 2)]
    with StreamServer(replies) as server:
        write_config(project, "openai", server.url)
        stdin = "\n".join(
            [
                json.dumps({"type": "user", "message": {"content": "first question"}}),
                "{oops",
                "",
                json.dumps({"text": "second question"}),
            ]
        )
        run = opencode(
            project, "run", "--input-format", "stream-json", "--format", "json", stdin=stdin
        )
        bodies = [r.json() for r in server.requests]
    assert run.code == 2, run.stderr  # both turns finished; one line was refused
    errors = run.of_type("error")
    assert len(errors) == 1 and errors[0]["line"] == 2 and "not JSON" in errors[0]["message"]
    finishes = run.of_type("finish")
    assert [f["reason"] for f in finishes] == ["stop", "stop"]
    assert len({e["session_id"] for e in run.events()}) == 1
    texts = "".join(e["text"] for e in run.of_type("text"))
    assert texts == "answer 1answer 2"
    # The second turn's request carries the first turn: same session, in order.
    second = [m["content"] for m in bodies[1]["messages"] if m["role"] != "system"]
    assert second == ["first question", "answer 1", "second question"]
    conn = sqlite3.connect(db_path())
    assert conn.execute("SELECT COUNT(*) FROM session").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM message WHERE role='user'").fetchone()[0] == 2
    conn.close()


def test_all_good_lines_exit_zero_and_words_are_refused(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    with StreamServer([Reply(body=openai_text_chunks(["ok"]))]) as server:
        write_config(project, "openai", server.url)
        run = opencode(project, "run", "--input-format", "stream-json", stdin='{"text": "hello"}\n')
        assert run.code == 0, run.stderr
        assert run.stdout.strip() == "ok"
        words = opencode(project, "run", "--input-format", "stream-json", "hi", stdin="")
        assert words.code == 2 and "stdin" in words.stderr
        empty = opencode(project, "run", "--input-format", "stream-json", stdin="")
        assert empty.code == 2 and "no messages" in empty.stderr


def test_stdin_redirected_from_a_file(tmp_path: Path) -> None:
    """``< turns.jsonl``: a regular file cannot be watched like a pipe; it is read directly."""
    import os
    import subprocess
    import sys

    project = tmp_path / "proj"
    turns = tmp_path / "turns.jsonl"
    turns.write_text('{"text": "q1"}\n{"text": "q2"}', encoding="utf-8")  # no final newline
    replies = [Reply(body=openai_text_chunks([f"a{i}"])) for i in (1, 2)]
    with StreamServer(replies) as server:
        write_config(project, "openai", server.url)
        with turns.open("rb") as stdin:
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "opencode.commands.cli",
                    "run",
                    "--input-format",
                    "stream-json",
                ],
                cwd=project,
                stdin=stdin,
                capture_output=True,
                text=True,
                timeout=60,
                env=dict(os.environ),
            )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["a1", "a2"]


async def test_an_overlong_line_is_refused_and_reading_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    import opencode.commands.stream_input as stream_input

    monkeypatch.setattr(stream_input, "MAX_LINE_BYTES", 100)
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b'{"text": "' + b"x" * 500 + b'"}\n{"text": "after"}\n')
    os.close(write_fd)
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        items = [item async for item in stream_input.read_lines(pipe)]  # type: ignore[arg-type]
    assert isinstance(items[0], LineError) and "longer than 100 bytes" in items[0].message
    assert items[1] == UserLine(2, "after")
