"""kill -9 of `opencode run` mid-stream, ten times over one database: after each kill the file
passes `PRAGMA integrity_check`, the session is there with what was streamed before the last
flush, and `opencode run -c` resumes it (the cut message is marked interrupted)."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.engine.helpers import db_path, openai_text_chunks, opencode, spawn, write_config
from tests.support.stream_server import Reply, StreamServer

pytestmark = pytest.mark.fault
ROUNDS = 10


def _wait_for_streamed_text(proc_stdout: object, timeout: float = 20) -> None:
    """Read the child's stdout until some of the reply has been printed."""
    import os
    import select

    fd = proc_stdout.fileno()  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            seen += chunk
            if b"w5 " in seen:
                return
    raise AssertionError(f"the run printed no reply in time: {seen[:200]!r}")


def test_kill_9_mid_stream_ten_times_then_resume(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    slow = Reply(body=openai_text_chunks([f"w{i} " for i in range(400)]), delay=0.02)
    fast = Reply(body=openai_text_chunks(["resumed ", "fine"]))
    replies = [r for _ in range(ROUNDS) for r in (slow, fast)]
    with StreamServer(replies) as server:
        write_config(project, "openai", server.url)
        session_ids = set()
        for round_no in range(ROUNDS):
            again = ["-c"] if round_no else []
            proc = spawn(project, "run", *again, "--format", "text", f"round {round_no}")
            _wait_for_streamed_text(proc.stdout)
            time.sleep(0.3)  # past the writer's flush interval: some text is on disk
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)

            with sqlite3.connect(db_path()) as db:
                assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            resumed = opencode(project, "run", "-c", "--format", "json", "go on")
            assert resumed.code == 0, resumed.stderr
            events = resumed.events()
            assert events[0]["resumed"] is True
            session_ids.add(events[0]["session_id"])
            assert "".join(e["text"] for e in resumed.of_type("text")) == "resumed fine"

    # One session carried every round; nothing was lost or left open.
    assert len(session_ids) == 1
    shown = opencode(project, "session", "show", session_ids.pop(), "--format", "json")
    messages = json.loads(shown.stdout)["messages"]
    users = [m for m in messages if m["role"] == "user"]
    assert [p["content"] for m in users for p in m["parts"]][::2] == [
        f"round {n}" for n in range(ROUNDS)
    ]
    cut = [m for m in messages if m["role"] == "assistant" and m["finish"] == "interrupted"]
    assert len(cut) == ROUNDS
    for message in cut:  # what streamed before the last flush was kept
        text = "".join(p["content"] for p in message["parts"] if p["kind"] == "text")
        assert text.startswith("w0 w1 w2 "), text[:40]
