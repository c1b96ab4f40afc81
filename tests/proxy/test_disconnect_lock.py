"""A client that disconnects while corrections are being audited must not leave the proxy
holding the database's write lock (anyio cancels level-triggered: a plain awaited ROLLBACK in a
cancelled request never ran, and every other opencode process then waited 60 s and failed)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.engine.helpers import opencode
from tests.proxy.conftest import sse, start_proxy, write_project
from tests.support.stream_server import StreamServer

pytestmark = pytest.mark.fault


def test_disconnecting_clients_leave_the_database_free(
    tmp_path: Path, upstream: StreamServer
) -> None:
    project = tmp_path / "proj"
    write_project(project, upstream.url)
    assert opencode(project, "patch", "add", "Hello", "Hi").code == 0
    upstream.add(sse("openai_text.sse"))
    proxy = start_proxy(project)
    try:
        body = {
            "model": "mock/test-model",
            "stream": True,
            "messages": [{"role": "user", "content": "x"}],
        }
        for _ in range(5):  # leave right after the first corrected token, five times
            with httpx.stream("POST", proxy.url + "/v1/chat/completions", json=body) as reply:
                for line in reply.iter_lines():
                    if "Hi" in line:
                        break
        time.sleep(0.5)
        started = time.monotonic()
        other = opencode(project, "patch", "add", "World", "Earth", timeout=30)
        assert other.code == 0, other.stderr
        assert time.monotonic() - started < 15, "another process waited for the proxy's lock"
        assert "waiting for the database" not in other.stderr
    finally:
        proxy.stop()
