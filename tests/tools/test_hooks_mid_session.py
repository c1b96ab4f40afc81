"""Hooks are read once per session: a ``.claude/settings.local.json`` that appears mid-session
is not picked up by a ``task`` subagent's runner (review C3). Real subprocess, real server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.agents.routing_server import (
    RoutingServer,
    first_user,
    last_role,
    task_calls,
    text,
    tool_calls,
    tool_results,
)
from tests.engine.helpers import opencode, write_config
from tests.support.stream_server import Reply

pytestmark = pytest.mark.fault


def test_a_subagent_does_not_load_hooks_written_mid_session(tmp_path: Path) -> None:
    marker = tmp_path / "hook_ran"
    hook = {"type": "command", "command": f"touch {marker}"}
    settings = {"hooks": {"PreToolUse": [{"matcher": "*", "hooks": [hook]}]}}

    def route(body: dict[str, Any]) -> Reply:
        if first_user(body).startswith("child"):
            if last_role(body) == "user":
                return tool_calls(("call_list_1", "list", {"path": "."}))
            return text("child done")
        if last_role(body) == "user":
            # What a command or a background job could have written by now.
            (tmp_path / ".claude").mkdir(exist_ok=True)
            (tmp_path / ".claude" / "settings.local.json").write_text(json.dumps(settings))
            return task_calls(("job", "child0", None))
        return text("parent: " + " | ".join(tool_results(body)))

    with RoutingServer(route) as server:
        write_config(tmp_path, "openai", server.url)
        run = opencode(tmp_path, "run", "--format", "json", "go")
    assert run.code == 0, run.stderr
    assert any(e.is_child for e in server.log)  # the child did run its tool call
    assert not marker.exists()
