"""The one engine assembly (``opencode.sessions.engine.Engine``), in process: the store writer
sees every event first and is the only writer of session rows; a session row appears only
with its first message; the title and token counts reach subscribers as events; several
engines share one store. A real SQLite file and a real loopback provider throughout."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opencode.sessions.config import load_config
from opencode.sessions.engine import Engine, EngineNotOpen
from opencode.sessions.events import (
    MessageFinished,
    MessageStarted,
    PartStarted,
    PermissionAnswered,
    SessionCreated,
    SessionEvent,
    SessionStarted,
    SessionTitled,
    UnfinishedInterrupted,
)
from opencode.sessions.permissions_api import PermissionAnswer, PermissionRequest
from opencode.sessions.providers.base import Provider, ProviderConfig
from opencode.sessions.runner import RunnerError
from opencode.sessions.store.db import Store
from tests.engine.helpers import fixture, openai_text_chunks, write_config
from tests.support.stream_server import Reply, StreamServer


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "hello.txt").write_text("hello world\n")
    return project


@pytest.fixture
def server() -> Iterator[StreamServer]:
    with StreamServer([]) as server:
        yield server


def rows(engine: Engine, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the database file through a second connection, as another process would."""
    conn = sqlite3.connect(engine.config.db_path)
    try:
        return [tuple(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


async def never_ask(request: PermissionRequest) -> PermissionAnswer:
    raise AssertionError(f"unexpected permission question: {request}")


async def open_engine(project: Path, url: str, extra: str = "", **kwargs: Any) -> Engine:
    asker = kwargs.pop("asker", never_ask)
    write_config(project, "openai", url, extra)
    engine = Engine(load_config(project), project, **kwargs)
    await engine.open(asker)
    return engine


def text_reply(*words: str) -> Reply:
    return Reply(body=openai_text_chunks(list(words)))


async def test_starting_a_session_writes_no_row_until_its_first_message(
    project: Path, server: StreamServer
) -> None:
    engine = await open_engine(project, server.url)
    seen: list[SessionEvent] = []
    engine.bus.subscribe(seen.append)
    record = await engine.start()
    assert [type(e) for e in seen] == [SessionCreated, SessionStarted]
    assert rows(engine, "SELECT id FROM session") == []
    assert await engine.repo.latest(project) is None  # what `-c` would resume
    await engine.close()
    assert rows(engine, "SELECT id FROM session") == [], "opened and left: no ghost session"
    assert record.id.startswith("ses")


async def test_session_row_comes_with_the_first_message_in_one_write(
    project: Path, server: StreamServer
) -> None:
    server.add(text_reply("Hello", " there"))
    engine = await open_engine(project, server.url)
    observed: list[tuple[str, list[tuple[Any, ...]]]] = []

    def check(event: SessionEvent) -> None:
        # Subscribed after the writer: the rows the writer wrote for this event are visible.
        if isinstance(event, MessageStarted | PartStarted) and event.message_id:
            observed.append(
                (
                    type(event).__name__,
                    rows(
                        engine,
                        "SELECT s.id, m.role, p.content FROM session s"
                        " LEFT JOIN message m ON m.session_id = s.id"
                        " LEFT JOIN part p ON p.message_id = m.id",
                    ),
                )
            )

    engine.bus.subscribe(check)
    result = await engine.send("Say hello")
    assert result.finish == "stop"
    sid = engine.session.id if engine.session else ""
    # The user's MessageStarted alone writes nothing; its first part brings session, message
    # and part together.
    assert observed[0] == ("MessageStarted", [])
    assert observed[1] == ("PartStarted", [(sid, "user", "Say hello")])
    await engine.close()


async def test_a_provider_that_cannot_be_built_leaves_no_session(
    project: Path, server: StreamServer
) -> None:
    def broken(config: ProviderConfig) -> Provider:
        raise RuntimeError("no such SDK")

    engine = await open_engine(project, server.url, provider_factory=broken)
    with pytest.raises(RunnerError, match="cannot be used"):
        await engine.send("hello")
    await engine.close()
    assert rows(engine, "SELECT id FROM session") == []


async def test_title_and_tokens_arrive_as_events_and_match_the_store(
    project: Path, server: StreamServer
) -> None:
    server.add(text_reply("one", "two", "three"))
    engine = await open_engine(project, server.url)
    titles: list[str] = []
    usage: list[int] = []

    def listen(event: SessionEvent) -> None:
        if isinstance(event, SessionTitled):
            titles.append(event.title)
        elif isinstance(event, MessageFinished) and event.usage is not None:
            usage.append(event.usage.output_tokens)

    engine.bus.subscribe(listen)
    await engine.send("Explain the parser\nin detail")
    assert titles == ["Explain the parser"]
    assert engine.session is not None
    assert engine.session.title == "Explain the parser"
    await engine.flush()
    stored = rows(engine, "SELECT title, input_tokens, output_tokens FROM session")
    assert stored == [("Explain the parser", 11, 3)]
    assert (engine.session.input_tokens, engine.session.output_tokens) == (11, 3)
    assert usage == [3]
    await engine.close()


async def test_resume_closes_what_a_killed_run_left_open_through_an_event(
    project: Path, server: StreamServer
) -> None:
    # A turn whose assistant message never finished, as a killed process leaves it.
    first = await open_engine(project, server.url)
    record = await first.start()
    await first.bus.emit(MessageStarted(record.id, "msg_0001", "user"))
    await first.bus.emit(PartStarted(record.id, "msg_0001", "prt_0001", 1, "text", "hi"))
    await first.bus.emit(MessageStarted(record.id, "msg_0002", "assistant", "mock/test-model"))
    await first.bus.emit(PartStarted(record.id, "msg_0002", "prt_0002", 1, "text", "par"))
    await first.close()
    assert rows(first, "SELECT finish FROM message WHERE id = 'msg_0002'") == [(None,)]

    second = await open_engine(project, server.url)
    seen: list[SessionEvent] = []
    second.bus.subscribe(seen.append)
    await second.start(session_id=record.id, title="renamed")
    assert any(isinstance(e, UnfinishedInterrupted) for e in seen)
    assert rows(second, "SELECT finish FROM message WHERE id = 'msg_0002'") == [("interrupted",)]
    assert rows(second, "SELECT status FROM part WHERE id = 'prt_0002'") == [("interrupted",)]
    assert rows(second, "SELECT title FROM session") == [("renamed",)]
    await second.close()


async def test_allow_for_session_is_stored_by_the_writer_and_restored_on_resume(
    project: Path, server: StreamServer
) -> None:
    server.add(Reply(body=fixture("openai_step1_edit_call.sse")))
    server.add(Reply(body=fixture("openai_step2_final.sse")))
    asked: list[PermissionRequest] = []

    async def allow_for_session(request: PermissionRequest) -> PermissionAnswer:
        asked.append(request)
        return "allow_session"

    engine = await open_engine(
        project, server.url, '[permission]\nedit = "ask"', asker=allow_for_session
    )
    answers: list[PermissionAnswered] = []
    engine.bus.subscribe(lambda e: answers.append(e) if isinstance(e, PermissionAnswered) else None)
    result = await engine.send("Change world to there")
    assert result.finish == "stop" and len(asked) == 1
    assert [(a.tool, a.answer) for a in answers] == [("edit", "allow_session")]
    assert rows(engine, "SELECT tool, decision FROM permission_decision") == [
        ("edit", "allow_session")
    ]
    assert engine.session is not None
    sid = engine.session.id
    await engine.close()

    # Resumed in a new engine: the stored grant is restored, so the same edit is not asked.
    (project / "hello.txt").write_text("hello world\n")
    server.add(Reply(body=fixture("openai_step1_edit_call.sse")))
    server.add(Reply(body=fixture("openai_step2_final.sse")))
    again = await open_engine(project, server.url, '[permission]\nedit = "ask"', asker=never_ask)
    await again.start(session_id=sid)
    assert (await again.send("Once more")).finish == "stop"
    assert (project / "hello.txt").read_text() == "hello there\n"
    await again.close()


async def test_two_engines_share_one_store_and_only_the_opener_closes_it(
    project: Path, server: StreamServer
) -> None:
    server.add(Reply(body=openai_text_chunks(["a", "b", "c", "d"]), delay=0.01))
    write_config(project, "openai", server.url)
    config = load_config(project)
    store = await Store.open(config.db_path)
    engines = [Engine(config, project), Engine(config, project)]
    for engine in engines:
        await engine.open(never_ask, store=store)
    results = await asyncio.gather(*(e.send(f"turn {i}") for i, e in enumerate(engines)))
    assert [r.finish for r in results] == ["stop", "stop"]
    for engine in engines:
        await engine.close()
    # Both sessions, each with its user and assistant message, through one connection.
    count = await store.fetchall(
        "SELECT s.title, COUNT(m.id) FROM session s JOIN message m ON m.session_id = s.id"
        " GROUP BY s.id ORDER BY s.title"
    )
    assert [tuple(r) for r in count] == [("turn 0", 2), ("turn 1", 2)]
    await store.close()


async def test_every_session_row_of_a_turn_is_written_by_the_store_writer(
    project: Path, server: StreamServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Who issues each write, over a turn with an asked, allowed edit and a resume: the store
    writer, apart from the file before-image (undo data written before the file changes)."""
    writers: set[tuple[str, str]] = set()
    execute = Store.execute

    async def spy(self: Store, sql: str, params: Any = ()) -> int:
        words = sql.split()
        if words[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            table = words[2] if words[0].upper() != "UPDATE" else words[1]
            writers.add((sys._getframe(1).f_globals["__name__"], table))
        return await execute(self, sql, params)

    monkeypatch.setattr(Store, "execute", spy)
    server.add(Reply(body=fixture("openai_step1_edit_call.sse")))
    server.add(Reply(body=fixture("openai_step2_final.sse")))

    async def allow_for_session(request: PermissionRequest) -> PermissionAnswer:
        return "allow_session"

    engine = await open_engine(
        project, server.url, '[permission]\nedit = "ask"', asker=allow_for_session
    )
    await engine.send("Change world to there")
    assert engine.session is not None
    await engine.start(session_id=engine.session.id, title="again")
    await engine.close()
    writer = "opencode.sessions.store.writer"
    assert {t for m, t in writers if m == writer} >= {
        "session",
        "message",
        "part",
        "permission_decision",
    }
    # Besides undo data, only audit tables are written elsewhere (never a session row).
    assert {(m, t) for m, t in writers if m != writer} == {
        ("opencode.sessions.store.sessions", "file_change"),
        ("opencode.sessions.providers.resilience.audit", "provider_call"),
    }


async def test_a_child_session_is_written_with_its_parent(
    project: Path, server: StreamServer
) -> None:
    server.add(text_reply("ok"))
    engine = await open_engine(project, server.url)
    await engine.send("parent turn")
    assert engine.session is not None
    parent = engine.session.id
    child = await engine.start(parent_id=parent)
    assert rows(engine, "SELECT id FROM session WHERE id = ?", (child.id,)) == []
    await engine.send("child turn")
    assert rows(engine, "SELECT parent_id, title FROM session WHERE id = ?", (child.id,)) == [
        (parent, "child turn")
    ]
    await engine.close()


async def test_empty_rows_left_by_older_versions_are_not_listed_or_continued(
    project: Path, server: StreamServer
) -> None:
    server.add(text_reply("ok"))
    engine = await open_engine(project, server.url)
    await engine.send("a real turn")
    assert engine.session is not None
    real = engine.session.id
    ghost = await engine.repo.create(cwd=project, model="mock/test-model")  # as main wrote it
    assert [r.id for r in await engine.repo.list(project)] == [real]
    assert [r.id for r in await engine.repo.list()] == [real]
    latest = await engine.repo.latest(project)
    assert latest is not None and latest.id == real
    found = await engine.repo.get(ghost.id)
    assert found is not None and found.id == ghost.id
    await engine.close()


async def test_an_event_before_open_is_an_error_not_a_silent_loss(project: Path) -> None:
    write_config(project, "openai", "http://127.0.0.1:9")
    engine = Engine(load_config(project), project)
    with pytest.raises(EngineNotOpen, match="could not be saved"):
        await engine.bus.emit(SessionTitled("ses_x", "t"))
    with pytest.raises(EngineNotOpen):
        _ = engine.store
