"""A conversation rewind puts the todo list back as it was at the rewind point: the list the
last ``todowrite`` before it wrote, or none (real engine, loopback provider, SQLite store)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opencode.sessions.engine import Engine
from opencode.sessions.events import SessionEvent, TodosUpdated
from opencode.sessions.rewind.actions import rewind
from opencode.sessions.store.todos import load_todos
from opencode.sessions.todos import Todo
from tests.rewind.script import open_engine, text_reply, tool_reply, user_messages
from tests.support.stream_server import StreamServer

PLAN_A = [{"content": "Read the parser", "status": "in_progress"}]
PLAN_B = [
    {"content": "Read the parser", "status": "completed"},
    {"content": "Fix the off-by-one", "status": "in_progress"},
]


@pytest.fixture
def server() -> Iterator[StreamServer]:
    with StreamServer([]) as server:
        yield server


async def three_turns(tmp_path: Path, server: StreamServer) -> tuple[Engine, str, list[str]]:
    server.add(
        tool_reply("todowrite", todos=PLAN_A),
        text_reply("planned"),
        tool_reply("todowrite", todos=PLAN_B),
        text_reply("progress"),
        text_reply("no list change here"),
    )
    engine = await open_engine(tmp_path, server.url)
    for prompt in ("plan it", "go on", "how is it"):
        await engine.send(prompt)
    assert engine.session is not None
    sid = engine.session.id
    await engine.flush()
    return engine, sid, user_messages(engine, sid)


def contents(todos: list[Todo]) -> list[tuple[str, str]]:
    return [(t.content, t.status) for t in todos]


async def test_conversation_rewind_restores_the_todo_list_of_that_point(
    tmp_path: Path, server: StreamServer
) -> None:
    engine, sid, (first, second, third) = await three_turns(tmp_path, server)
    store = engine.store
    assert contents(await load_todos(store, sid)) == [
        ("Read the parser", "completed"),
        ("Fix the off-by-one", "in_progress"),
    ]

    await rewind(store, sid, third, code=False)  # after the last todowrite: unchanged
    assert len(await load_todos(store, sid)) == 2

    await rewind(store, sid, second, code=False)
    assert contents(await load_todos(store, sid)) == [("Read the parser", "in_progress")]

    await rewind(store, sid, first, code=False)
    assert await load_todos(store, sid) == []
    await engine.close()


async def test_a_running_engine_sees_the_restored_list_as_an_event(
    tmp_path: Path, server: StreamServer
) -> None:
    engine, sid, (_first, second, _third) = await three_turns(tmp_path, server)
    seen: list[SessionEvent] = []
    engine.bus.subscribe(seen.append)

    await rewind(engine.store, sid, second, code=False, emit=engine.bus.emit)

    updates = [e for e in seen if isinstance(e, TodosUpdated)]
    assert len(updates) == 1 and updates[0].session_id == sid
    assert contents(updates[0].todos) == [("Read the parser", "in_progress")]
    assert updates[0].call_id  # the todowrite call it came from
    stored = await load_todos(engine.store, sid)
    assert contents(stored) == [("Read the parser", "in_progress")]
    await engine.close()


async def test_a_fork_at_a_message_has_the_todo_list_of_that_point(
    tmp_path: Path, server: StreamServer
) -> None:
    from opencode.sessions.rewind.actions import fork

    engine, sid, (_first, second, _third) = await three_turns(tmp_path, server)
    forked = await fork(engine.store, sid, second)
    assert contents(await load_todos(engine.store, forked.id)) == [
        ("Read the parser", "in_progress")
    ]
    assert len(await load_todos(engine.store, sid)) == 2  # the source keeps its own
    await engine.close()
