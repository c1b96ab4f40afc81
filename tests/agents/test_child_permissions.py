"""A child asks through the parent's asker, one question at a time across parallel children,
and the answer applies to the child's call."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from opencode.sessions.config import load_config
from opencode.sessions.engine import Engine
from opencode.sessions.events import SessionEvent, ToolFinished
from opencode.sessions.permissions_api import PermissionAnswer, PermissionRequest
from tests.agents.routing_server import (
    RoutingServer,
    first_user,
    last_role,
    task_calls,
    text,
    tool_calls,
)
from tests.engine.helpers import write_config
from tests.support.stream_server import Reply


def _route(body: dict[str, Any]) -> Reply:
    prompt = first_user(body)
    if prompt.startswith("child"):
        if last_role(body) == "user":
            return tool_calls((f"call_list_{prompt}", "list", {"path": "."}))
        return text(f"{prompt} listed")
    if last_role(body) == "user":
        return task_calls(("a", "childA", None), ("b", "childB", None))
    return text("done")


def test_parallel_children_ask_the_parents_asker_one_at_a_time(tmp_path: Path) -> None:
    asked: list[str] = []
    active = [0, 0]  # now, most at once

    async def asker(request: PermissionRequest) -> PermissionAnswer:
        active[0] += 1
        active[1] = max(active)
        asked.append(request.session_id)
        await asyncio.sleep(0.2)
        active[0] -= 1
        return "allow_once"

    async def main(url: str) -> tuple[str, list[ToolFinished]]:
        write_config(tmp_path, "openai", url, extra='[permission]\nlist = "ask"\n')
        engine = Engine(load_config(tmp_path), tmp_path)
        finished: list[ToolFinished] = []

        def watch(event: SessionEvent) -> None:
            if isinstance(event, ToolFinished) and event.tool == "list":
                finished.append(event)

        engine.bus.subscribe(watch)
        await engine.open(asker)
        try:
            result = await engine.send("go")
            assert result.finish == "stop"
            assert engine.session is not None
            return engine.session.id, finished
        finally:
            await engine.close()

    with RoutingServer(_route) as server:
        parent, finished = asyncio.run(main(server.url))
    assert len(asked) == 2 and parent not in asked and len(set(asked)) == 2
    assert active[1] == 1  # never two questions at once
    assert sorted(f.session_id for f in finished) == sorted(asked)
    assert all(f.status == "completed" for f in finished)
