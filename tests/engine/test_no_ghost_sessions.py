"""`opencode run` killed with SIGKILL before its first message is written leaves no session:
`-c` and `session list` never see an empty one. Real subprocesses, a real SQLite file held
locked by a second connection, a real loopback provider."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.engine.helpers import db_path, openai_text_chunks, opencode, query, spawn, write_config
from tests.support.stream_server import Reply, StreamServer

pytestmark = pytest.mark.fault


def _has_open(pid: int, path: Path, timeout: float = 20) -> bool:
    """Wait until process ``pid`` has ``path`` open (it got past opening the store)."""
    fd_dir = Path(f"/proc/{pid}/fd")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if any(os.readlink(fd_dir / fd) == str(path) for fd in os.listdir(fd_dir)):
                return True
        except OSError:  # an fd closed while we looked, or the process is gone
            pass
        time.sleep(0.02)
    return False


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see open files")
def test_sigkill_before_the_first_message_is_written_leaves_no_session(tmp_path: Path) -> None:
    with StreamServer([Reply(body=openai_text_chunks(["never", "sent"]))]) as server:
        write_config(tmp_path, "openai", server.url)
        assert opencode(tmp_path, "session", "list").code == 0  # creates and migrates the file
        # Another writer holds the database, so the run stops at its first write (and waits
        # up to the store's busy timeout); the kill lands while it waits.
        locker = sqlite3.connect(db_path(), isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        try:
            proc = spawn(tmp_path, "run", "hello")
            assert _has_open(proc.pid, db_path()), "the run never opened the database"
            time.sleep(0.5)  # past start-up, into the blocked write
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert proc.returncode == -signal.SIGKILL
        assert server.requests == []

        assert query("SELECT id FROM session") == []
        listed = opencode(tmp_path, "session", "list", "--format", "json")
        assert listed.code == 0, listed.stderr
        assert json.loads(listed.stdout) == []
        resumed = opencode(tmp_path, "run", "-c", "go on")
    assert resumed.code == 2
    assert "no earlier session" in resumed.stderr


def test_sigkill_at_any_moment_leaves_no_session_without_its_first_message(
    tmp_path: Path,
) -> None:
    """Kills spread over start-up and streaming: whatever the moment, every session row that
    exists has its user message and that message's text."""
    slow = Reply(body=openai_text_chunks([f"w{i} " for i in range(100)]), delay=0.05)
    with StreamServer([slow]) as server:
        write_config(tmp_path, "openai", server.url)
        for delay in (0.2, 0.4, 0.6, 0.8, 1.2):
            proc = spawn(tmp_path, "run", f"kill after {delay}")
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
    sessions = query("SELECT id, title FROM session")
    for session in sessions:
        first = query(
            "SELECT m.role, p.content FROM message m JOIN part p ON p.message_id = m.id"
            " WHERE m.session_id = ? ORDER BY m.id, p.seq LIMIT 1",
            (session["id"],),
        )
        assert [tuple(r) for r in first] == [("user", session["title"])], session["id"]
