"""``Engine.spawn_child`` in process: a child of the current session, on the engine's own bus
and store, for callers that run subagents without the ``task`` tool (workflows)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from opencode.sessions.config import load_config
from opencode.sessions.engine import Engine
from opencode.sessions.events import SessionEvent, SessionStarted
from opencode.sessions.permissions_api import PermissionAnswer, PermissionRequest
from tests.agents.routing_server import RoutingServer, first_user, text
from tests.engine.helpers import write_config
from tests.support.stream_server import Reply


async def _deny(request: PermissionRequest) -> PermissionAnswer:
    return "deny"


def test_spawn_child_runs_a_child_of_the_current_session(tmp_path: Path) -> None:
    def route(body: dict[str, Any]) -> Reply:
        return text(f"reply to {first_user(body)}")

    async def main(url: str) -> tuple[str, str, list[SessionEvent]]:
        write_config(tmp_path, "openai", url)
        engine = Engine(load_config(tmp_path), tmp_path)
        seen: list[SessionEvent] = []
        engine.bus.subscribe(seen.append)
        await engine.open(_deny)
        try:
            await engine.send("parent question")
            assert engine.session is not None
            outcome = await engine.spawn_child("child question", description="helper")
            assert outcome.ok and outcome.session_id is not None
            return engine.session.id, outcome.session_id, seen
        finally:
            await engine.close()

    with RoutingServer(route) as server:
        parent, child, seen = asyncio.run(main(server.url))
    conn = sqlite3.connect(tmp_path / "data" / "opencode.db")
    try:
        row = conn.execute("SELECT parent_id, title FROM session WHERE id = ?", (child,)).fetchone()
    finally:
        conn.close()
    assert row == (parent, "helper")
    starts = [e for e in seen if isinstance(e, SessionStarted) and e.session_id == child]
    assert starts[0].parent_id == parent and starts[0].parent_call_id is None
    assert [e.first_user for e in server.log] == ["parent question", "child question"]
    assert server.log[1].is_child
