"""The todo tools: checking the model's list, the permission default, and the list kept per
session through `opencode run` (a real subprocess, loopback server, real SQLite file):
the json ``todo`` line, the ``todo`` rows, and a resumed session reading the list back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opencode.sessions.config import PermissionConfig
from opencode.sessions.todos import Todo, TodoError, parse_todos, render_todos, summary
from opencode.sessions.tools.base import ToolContext, ToolError
from opencode.sessions.tools.permissions import Permissions
from opencode.sessions.tools.registry import builtin_tools, parse_arguments
from opencode.sessions.tools.todo import TodoReadTool, TodoWriteTool
from tests.engine.helpers import (
    openai_text_chunks,
    openai_tool_call,
    opencode,
    query,
    write_config,
)
from tests.support.stream_server import Reply, StreamServer

SSE = {"content-type": "text/event-stream"}


def tool_call_reply(name: str, arguments: dict[str, Any], call_id: str = "call_1") -> Reply:
    return Reply(body=openai_tool_call(name, arguments, call_id), headers=SSE)


def text_reply(text: str) -> Reply:
    return Reply(body=openai_text_chunks([text]), headers=SSE)


PLAN = [
    {"content": "Read the failing test", "status": "completed"},
    {"content": "Fix the parser", "status": "in_progress", "priority": "high"},
    {"content": "Run the  whole\nsuite", "status": "pending"},
]


# ---------------------------------------------------------------------------- checking


def test_a_good_list_parses_with_ids_and_one_line_content() -> None:
    todos, warnings = parse_todos(PLAN)
    assert warnings == []
    assert [t.id for t in todos] == ["1", "2", "3"]
    assert todos[1] == Todo("Fix the parser", "in_progress", "high", "2")
    assert todos[2].content == "Run the whole suite"
    assert summary(todos) == "3 todos: 1 done, 1 in progress, 1 pending"
    assert render_todos(todos).splitlines()[:3] == [
        "☑ Read the failing test",
        "◐ Fix the parser (high)",
        "☐ Run the whole suite",
    ]


def test_every_bad_item_is_named_by_position_and_nothing_is_kept() -> None:
    bad = [
        {"content": "", "status": "pending"},
        {"content": "ok", "status": "done"},
        {"content": "ok", "status": "pending", "priority": "urgent"},
        "just text",
        {"content": "a", "status": "pending", "id": "x"},
        {"content": "b", "status": "pending", "id": "x"},
    ]
    with pytest.raises(TodoError) as caught:
        parse_todos(bad)
    message = str(caught.value)
    assert "todos[0].content must be a non-empty string" in message
    assert "todos[1].status must be one of pending, in_progress, completed, cancelled" in message
    assert "'done'" in message
    assert "todos[2].priority" in message and "'urgent'" in message
    assert "todos[3] must be an object" in message
    assert "todos[5].id 'x' repeats todos[4].id" in message
    assert "Send the whole list again" in message


def test_control_characters_never_reach_the_list() -> None:
    todos, _ = parse_todos([{"content": "\x1b[2J\x1b]0;pwned\x07Fix\tit\r\n", "status": "pending"}])
    assert todos[0].content == "[2J]0;pwnedFix it"
    assert "\x1b" not in render_todos(todos)
    with pytest.raises(TodoError, match="non-empty"):
        parse_todos([{"content": "\x1b\x07", "status": "pending"}])


def test_limits_and_wrong_shapes_say_what_to_do() -> None:
    with pytest.raises(TodoError, match="must be an array"):
        parse_todos({"content": "x"})
    with pytest.raises(TodoError, match="at most 100"):
        parse_todos([{"content": f"s{i}", "status": "pending"} for i in range(101)])
    with pytest.raises(TodoError, match="shorten it"):
        parse_todos([{"content": "x" * 501, "status": "pending"}])


def test_two_items_in_progress_is_kept_with_a_note_not_refused() -> None:
    todos, warnings = parse_todos(
        [
            {"content": "a", "status": "in_progress"},
            {"content": "b", "status": "in_progress"},
        ]
    )
    assert len(todos) == 2
    assert warnings and "todos[0], todos[1]" in warnings[0]
    assert "keep one in_progress at a time" in warnings[0]


async def test_todowrite_emits_the_list_and_reports_the_soft_rule(tmp_path: Path) -> None:
    seen: list[Any] = []

    async def emit(event: Any) -> None:
        seen.append(event)

    async def record(path: Path, before: bytes | None) -> None:
        return None

    ctx = ToolContext(tmp_path, "ses_1", "call_9", record, emit=emit)
    tool = TodoWriteTool()
    args = parse_arguments(
        tool,
        json.dumps({"todos": [{"content": "a", "status": "in_progress"}] * 2}),
    )
    result = await tool.run(args, ctx)
    assert not result.is_error
    assert "keep one in_progress at a time" in result.output
    (event,) = seen
    assert event.session_id == "ses_1" and event.call_id == "call_9"
    assert [t.content for t in event.todos] == ["a", "a"]
    with pytest.raises(ToolError, match=r"todowrite: the todo list was not changed"):
        await tool.run({"todos": [{"content": "a", "status": "later"}]}, ctx)
    assert len(seen) == 1  # the refused list was never emitted


def test_the_todo_tools_are_offered_and_allowed_without_asking(tmp_path: Path) -> None:
    tools = builtin_tools()
    assert isinstance(tools["todowrite"], TodoWriteTool)
    assert isinstance(tools["todoread"], TodoReadTool)
    permissions = Permissions(PermissionConfig(), tmp_path)
    for name in ("todowrite", "todoread"):
        subject = tools[name].permission_subject({}, tmp_path)
        assert permissions.decide(name, subject) == "allow"


# ---------------------------------------------------------------------------- a real session


def test_the_list_is_stored_printed_as_json_and_read_back_on_resume(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    with StreamServer(
        [
            tool_call_reply("todowrite", {"todos": PLAN}),
            text_reply("Planned."),
            tool_call_reply("todoread", {}, "call_2"),
            text_reply("Resumed."),
        ]
    ) as server:
        write_config(project, "openai", server.url)
        first = opencode(project, "run", "--format", "json", "Plan the fix")
        assert first.code == 0, first.stderr
        (todo,) = first.of_type("todo")
        assert todo["call_id"] == "call_1"
        assert todo["todos"][1] == {
            "id": "2",
            "content": "Fix the parser",
            "status": "in_progress",
            "priority": "high",
        }
        (result,) = first.of_type("tool_result")
        assert result["status"] == "completed"  # allowed without --yes: it never asked
        assert not first.of_type("permission")
        session_id = todo["session_id"]
        rows = query(
            "SELECT position, content, status, priority FROM todo WHERE session_id = ?"
            " ORDER BY position",
            (session_id,),
        )
        assert [tuple(r) for r in rows] == [
            (0, "Read the failing test", "completed", None),
            (1, "Fix the parser", "in_progress", "high"),
            (2, "Run the whole suite", "pending", None),
        ]

        second = opencode(project, "run", "--format", "json", "-c", "Where were we?")
        assert second.code == 0, second.stderr
        assert second.events()[0]["session_id"] == session_id
        (read,) = second.of_type("tool_result")
        assert read["tool"] == "todoread"
        assert "◐ Fix the parser (high)" in read["output"]
        assert "3 todos: 1 done, 1 in progress, 1 pending" in read["output"]
        # What the model got back in the resumed turn is that list.
        assert "Fix the parser" in json.dumps(server.requests[3].json())


def test_a_refused_list_leaves_the_stored_one_alone(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    with StreamServer(
        [
            tool_call_reply("todowrite", {"todos": PLAN}),
            tool_call_reply("todowrite", {"todos": [{"content": "x", "status": "done"}]}, "c2"),
            text_reply("ok"),
        ]
    ) as server:
        write_config(project, "openai", server.url)
        run = opencode(project, "run", "--format", "json", "Plan")
        assert run.code == 0, run.stderr
        told = json.dumps(server.requests[2].json())
    results = run.of_type("tool_result")
    assert [r["status"] for r in results] == ["completed", "error"]
    assert "todos[0].status must be one of" in results[1]["output"]
    assert "todos[0].status must be one of" in told  # the model reads what to fix
    assert len(run.of_type("todo")) == 1
    assert len(query("SELECT * FROM todo")) == 3


def statuses(session_id: str) -> list[str]:
    rows = query("SELECT status FROM todo WHERE session_id = ? ORDER BY position", (session_id,))
    return [r["status"] for r in rows]


def test_a_fork_starts_with_its_sources_list_and_they_part_ways(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    done = [dict(item, status="completed") for item in PLAN]
    with StreamServer(
        [
            tool_call_reply("todowrite", {"todos": PLAN}),
            text_reply("Planned."),
            tool_call_reply("todowrite", {"todos": done}, "call_2"),
            text_reply("All done."),
        ]
    ) as server:
        write_config(project, "openai", server.url)
        first = opencode(project, "run", "--format", "json", "Plan the fix")
        assert first.code == 0, first.stderr
        source = first.of_type("session")[0]["session_id"]
        forked = opencode(project, "session", "fork", source, "--format", "json")
        assert forked.code == 0, forked.stderr
        fork_id = json.loads(forked.stdout)["id"]
        assert statuses(fork_id) == ["completed", "in_progress", "pending"]  # copied
        in_fork = opencode(project, "run", "--format", "json", "-s", fork_id, "Finish")
        assert in_fork.code == 0, in_fork.stderr

    assert statuses(fork_id) == ["completed", "completed", "completed"]
    assert statuses(source) == ["completed", "in_progress", "pending"]  # untouched by the fork


def test_text_mode_prints_the_lists_counts_to_stderr() -> None:
    import io

    from opencode.commands.printers import TextPrinter
    from opencode.sessions.events import TodosUpdated

    out, err = io.StringIO(), io.StringIO()
    TextPrinter(out, err)(TodosUpdated("ses_1", "call_1", parse_todos(PLAN)[0]))
    assert out.getvalue() == ""  # stdout stays the reply's
    assert err.getvalue() == (
        "todo: 3 todos: 1 done, 1 in progress, 1 pending; now: Fix the parser\n"
    )
