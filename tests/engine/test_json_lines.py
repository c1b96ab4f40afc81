"""The JSON Lines of ``opencode run --format json`` for the events that copy their fields as
they are: each line has exactly the fields the schema (``commands/printers.py``) names, in
that order, with the event's values; a subagent's line also names its parent session."""

from __future__ import annotations

import io
import json
from typing import Any

from opencode.commands.printers import JsonPrinter
from opencode.sessions.events import (
    ErrorOccurred,
    PermissionAsked,
    SessionEvent,
    SessionStarted,
    ToolFinished,
    ToolOutputDelta,
    ToolStarted,
)

HEAD = ["v", "type", "session_id"]


def lines(*events: SessionEvent) -> list[dict[str, Any]]:
    out = io.StringIO()
    printer = JsonPrinter(out)
    for event in events:
        printer(event)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_tool_and_error_lines_have_the_schema_fields_in_order() -> None:
    events = [
        ToolStarted("ses_1", "msg_1", "prt_1", 1, "call_1", "bash", {"command": "ls"}, "{}"),
        PermissionAsked("ses_1", "call_1", "bash", "ls", "deny", "a rule"),
        ToolOutputDelta("ses_1", "call_1", "a line\n", dropped=7),
        ToolFinished("ses_1", "msg_1", "prt_1", "prt_2", 2, "call_1", "bash", "error", "x", 42),
        ErrorOccurred("ses_1", None, "prt_3", 3, "it broke", hint="try again"),
    ]
    got = lines(*events)
    assert [list(line) for line in got] == [
        [*HEAD, "call_id", "tool", "arguments"],
        [*HEAD, "call_id", "tool", "subject", "decision", "reason"],
        [*HEAD, "call_id", "text", "dropped"],
        [*HEAD, "call_id", "tool", "status", "output", "duration_ms"],
        [*HEAD, "message", "hint"],
    ]
    assert [line["type"] for line in got] == [
        "tool_call",
        "permission",
        "tool_output",
        "tool_result",
        "error",
    ]
    assert all(line["v"] == 1 and line["session_id"] == "ses_1" for line in got)
    assert got[0]["arguments"] == {"command": "ls"}
    assert (got[1]["decision"], got[1]["reason"]) == ("deny", "a rule")
    assert (got[2]["text"], got[2]["dropped"]) == ("a line\n", 7)
    assert (got[3]["status"], got[3]["output"], got[3]["duration_ms"]) == ("error", "x", 42)
    assert (got[4]["message"], got[4]["hint"]) == ("it broke", "try again")


def test_a_subagents_tool_line_names_its_parent_session() -> None:
    child = SessionStarted(
        "ses_child", "a child", "mock/m", "/p", False, parent_id="ses_1", parent_call_id="call_t"
    )
    got = lines(child, ToolOutputDelta("ses_child", "call_2", "out\n"))
    assert got[1]["parent_session_id"] == "ses_1"
    assert list(got[1]) == [*HEAD, "parent_session_id", "call_id", "text", "dropped"]
