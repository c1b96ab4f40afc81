"""Pilot tests of the chat screen against a loopback provider server and a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from opencode.tui.widgets.markdown_stream import StreamingMarkdown
from opencode.tui.widgets.message_views import AssistantMessage, ErrorNotice, UserMessage
from tests.support.stream_server import StreamServer
from tests.tui.conftest import sse_reply, type_and_send, wait_for


def db_rows(app: Any, sql: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(app.config.db_path)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


async def test_prompt_streams_reply_and_persists(make_app: Any, server: StreamServer) -> None:
    server.add(sse_reply("openai_text.sse"))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "Say hello")
        await wait_for(pilot, lambda: not app.chat.running and app.chat.query(StreamingMarkdown))
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        user = app.chat.query(UserMessage).first()
        assert user.text == "Say hello"
        reply = app.chat.query(StreamingMarkdown).last()
        assert reply.finished and reply.text.strip()
        assert app.chat.status.output_tokens > 0
        assert app.chat.prompt.text == ""
    body = server.requests[0].json()
    assert body["messages"][-1]["content"] == "Say hello"
    rows = db_rows(app, "SELECT role, finish FROM message ORDER BY id")
    assert [r["role"] for r in rows] == ["user", "assistant"]
    assert rows[1]["finish"] == "stop"
    text = db_rows(app, "SELECT content FROM part WHERE kind = 'text' ORDER BY id")
    assert text[-1]["content"] == reply.text


async def test_ctrl_j_inserts_newline_and_up_recalls_history(
    make_app: Any, server: StreamServer
) -> None:
    server.add(sse_reply("openai_text.sse"))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        prompt = app.chat.prompt
        await pilot.press("a", "ctrl+j", "b")
        assert prompt.text == "a\nb"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.chat.running and app.chat.status.state == "ready")
        assert prompt.text == ""
        await pilot.press("up")
        assert prompt.text == "a\nb"
        await pilot.press("down")
        assert prompt.text == ""


async def test_reasoning_is_a_dimmed_collapsible(make_app: Any, server: StreamServer) -> None:
    from opencode.tui.widgets.message_views import ReasoningBlock

    server.add(sse_reply("openai_reasoning.sse"))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "2+2?")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        block = app.chat.query_one(ReasoningBlock)
        assert block.title == "Thought"
        assert "2+2" in block.stream.text


async def test_provider_error_is_shown_inline_with_hint(
    make_app: Any, server: StreamServer
) -> None:
    from tests.support.stream_server import Reply

    body = (Path(__file__).parent.parent / "fixtures/streams/openai_401.json").read_bytes()
    server.add(
        Reply(body=body, status=401, headers={"content-type": "application/json"}, chunked=False)
    )
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "hi")
        await wait_for(pilot, lambda: app.chat.query(ErrorNotice))
        notice = app.chat.query_one(ErrorNotice)
        assert "401" in notice.message or "API key" in notice.message
        assert notice.hint
        assert "SECRET" not in notice.message + (notice.hint or "")
        await wait_for(pilot, lambda: app.chat.status.state == "error")


async def test_escape_cancels_turn_and_persists_interrupted(
    make_app: Any, server: StreamServer
) -> None:
    server.add(sse_reply("openai_text.sse", delay=0.5))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "Say hello slowly")
        await wait_for(pilot, lambda: app.chat.query(AssistantMessage) and app.chat.running)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.chat.running)
        await wait_for(pilot, lambda: app.chat.status.state == "interrupted")
        await wait_for(pilot, lambda: app.chat.query(".interrupted"))
    rows = db_rows(app, "SELECT finish FROM message WHERE role = 'assistant'")
    assert [r["finish"] for r in rows] == ["interrupted"]


async def test_auto_scroll_follows_until_user_scrolls_up(make_app: Any) -> None:
    from tests.support.tui_app import stream_events_into

    app = make_app(open_session=False)
    async with app.run_test(size=(80, 20)) as pilot:
        transcript = app.chat.transcript
        widget, push, done = await stream_events_into(app, "ses_scroll")
        for i in range(60):
            await push(f"line {i}\n\n")
        await wait_for(pilot, lambda: "line 59" in widget.text and transcript.max_scroll_y > 0)
        # Anchored: it follows the stream to the bottom (waited for, not timed: the
        # transcript repaints at frame rate and a loaded machine can be a few frames late).
        await wait_for(pilot, lambda: transcript.scroll_y == transcript.max_scroll_y)
        transcript.focus()
        await pilot.press("home")  # the user scrolls up: the anchor lets go
        await wait_for(pilot, lambda: transcript.scroll_y == 0)
        for i in range(60, 90):
            await push(f"line {i}\n\n")
        await wait_for(pilot, lambda: "line 89" in widget.text)
        await pilot.pause(0.2)
        assert transcript.scroll_y == 0
        await done()


async def test_unknown_session_id_is_reported_in_the_transcript(make_app: Any) -> None:
    from opencode.tui.widgets.command_output import CommandOutput

    app = make_app(session_id="ses_nope")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.chat.query(CommandOutput))
        output = app.chat.query_one(CommandOutput)
        assert output.has_class("-failed")
        assert "no session 'ses_nope'" in output.plain
    assert app.startup_error == "could not resume the session"


def test_run_app_rejects_an_unknown_model_before_starting(make_app: Any, capsys: Any) -> None:
    from opencode.tui.app import run_app

    app = make_app()  # only for its config
    code = run_app(config=app.config, cwd=app.cwd, model="nosuch/model")
    assert code == 2
    assert "unknown provider 'nosuch'" in capsys.readouterr().err


async def test_quitting_mid_turn_saves_it_as_interrupted(
    make_app: Any, server: StreamServer
) -> None:
    server.add(sse_reply("openai_text.sse", delay=0.5))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "Say hello slowly")
        await wait_for(pilot, lambda: app.chat.query(AssistantMessage) and app.chat.running)
        await pilot.press("ctrl+q")
    assert app.return_code in (0, None)
    rows = db_rows(app, "SELECT role, finish FROM message ORDER BY id")
    assert [r["role"] for r in rows] == ["user", "assistant"]
    assert rows[1]["finish"] == "interrupted"


async def test_no_session_is_created_until_the_first_message(
    make_app: Any, server: StreamServer
) -> None:
    server.add(sse_reply("openai_text.sse"))
    app = make_app(open_session=False)  # what `opencode` with no arguments does
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.1)
        assert db_rows(app, "SELECT id FROM session") == []
        await type_and_send(pilot, "hi")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        assert app.chat.status.title
    assert len(db_rows(app, "SELECT id FROM session")) == 1


def test_unusable_database_exits_with_the_reason(
    make_app: Any, tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    from opencode.tui.app import run_app

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    monkeypatch.setenv("OPENCODE_DATA_DIR", str(blocker / "data"))
    app = make_app()  # reads the config with the blocked data dir
    code = run_app(config=app.config, cwd=app.cwd)
    assert code == 1
    err = capsys.readouterr().err
    assert "cannot create data directory" in err and str(blocker) in err
