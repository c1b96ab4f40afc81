"""The prompt's ``@file`` completion and expansion, ``!command`` shell mode, Ctrl+R history
search and Ctrl+G external editor, driven through Pilot against a real loopback provider and a
real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opencode.tui.screens.history_search import HistorySearchScreen
from opencode.tui.widgets.mentions import MentionSuggestions
from opencode.tui.widgets.message_views import AssistantMessage, UserMessage
from opencode.tui.widgets.tool_call import ToolCallView
from tests.support.stream_server import StreamServer
from tests.tui.conftest import sse_reply, type_and_send, wait_for


async def type_in_prompt(pilot: Any, keys: str) -> MentionSuggestions:
    """Type ``keys`` into the focused prompt; the ``@`` list they may open."""
    pilot.app.chat.prompt.focus()
    await pilot.press(*keys)
    return pilot.app.chat.query_one(MentionSuggestions)


def shown(box: MentionSuggestions) -> list[str]:
    return [str(box.get_option_at_index(i).prompt) for i in range(box.option_count)]


def files(project: Path) -> None:
    (project / "README.md").write_text("# Demo\nMARKER-README-77\n")
    (project / "src").mkdir()
    (project / "src" / "reader.py").write_text("print('x')\n")
    (project / "docs").mkdir()
    (project / "docs" / "readme-old.md").write_text("old\n")


@pytest.fixture
def answering_app(make_app: Any, project: Path, server: StreamServer) -> Any:
    """An app over the project's ``files`` whose model answers one message."""
    files(project)
    server.add(sse_reply("openai_text.sse"))
    return make_app()


async def test_at_opens_ranked_file_list_and_tab_completes(
    answering_app: Any, server: StreamServer
) -> None:
    app = answering_app
    async with app.run_test(size=(100, 30)) as pilot:
        box = await type_in_prompt(pilot, "explain @rea")
        await wait_for(pilot, lambda: box.display and "README.md" in shown(box))
        # Basename matches first, shorter paths first.
        assert shown(box)[:3] == ["README.md", "src/reader.py", "docs/readme-old.md"]
        await pilot.press("down", "up", "tab")
        assert app.chat.prompt.text == "explain @README.md "
        assert not box.display
        await pilot.press("enter")  # the list is closed: Enter sends
        await wait_for(pilot, lambda: app.chat.status.state == "ready" and server.requests)
        # The request carried the file; the transcript shows what the user typed and the read.
        sent = json.dumps(server.requests[0].json())
        assert "MARKER-README-77" in sent
        assert [w.text for w in app.chat.query(UserMessage)] == ["explain @README.md"]
        view = app.chat.query_one(ToolCallView)
        assert view.tool == "read" and view.status == "completed"


async def test_enter_on_the_list_completes_and_escape_closes_it(
    make_app: Any, project: Path, server: StreamServer
) -> None:
    files(project)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        box = await type_in_prompt(pilot, "see @src")
        await wait_for(pilot, lambda: box.display and shown(box) and shown(box)[0] == "src/")
        await pilot.press("enter")  # a directory: completed, the list stays for its files
        assert app.chat.prompt.text == "see @src/"
        await wait_for(pilot, lambda: "src/reader.py" in shown(box))
        await pilot.press("escape")
        assert not box.display
        await pilot.press("r")  # the same mention, dismissed: stays closed
        assert not box.display
        assert app.chat.prompt.text == "see @src/r"
        await pilot.press(*["backspace"] * 6)
        assert app.chat.prompt.text == "see "
        await pilot.press("@", "s")  # typed again at the same place: a new mention, open
        await wait_for(pilot, lambda: box.display and "src/" in shown(box))
        assert not server.requests  # nothing was sent by any of these keys


async def test_bang_runs_a_shell_command_shown_as_a_tool_block_and_sent_as_context(
    make_app: Any, project: Path, server: StreamServer
) -> None:
    server.add(sse_reply("openai_text.sse"))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "!echo BANG-$((40+2))")
        await wait_for(pilot, lambda: app.chat.query(ToolCallView))
        view = app.chat.query_one(ToolCallView)
        await wait_for(pilot, lambda: view.status == "completed")
        assert view.tool == "bash" and "BANG-42" in view.output
        await wait_for(pilot, lambda: not app.chat.running)
        assert not server.requests  # no model call for a ! command
        assert not app.chat.query(AssistantMessage)
        await type_and_send(pilot, "what did it print?")
        await wait_for(pilot, lambda: server.requests and app.chat.status.state == "ready")
    sent = json.dumps(server.requests[0].json())
    assert "BANG-42" in sent and "echo BANG" in sent


async def test_enter_after_a_fully_typed_path_sends(
    answering_app: Any, server: StreamServer
) -> None:
    app = answering_app
    async with app.run_test(size=(100, 30)) as pilot:
        box = await type_in_prompt(pilot, "@README.md")
        await wait_for(pilot, lambda: box.display and shown(box)[:1] == ["README.md"])
        await pilot.press("enter")
        await wait_for(pilot, lambda: server.requests and app.chat.status.state == "ready")
    assert "MARKER-README-77" in json.dumps(server.requests[0].json())


async def test_escape_stops_a_running_bang_command_and_marks_it_interrupted(
    make_app: Any, project: Path, server: StreamServer
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "!echo started; sleep 30")
        await wait_for(pilot, lambda: app.chat.query(ToolCallView))
        view = app.chat.query_one(ToolCallView)
        assert view.status == "running"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.chat.running, limit=5)
        await wait_for(pilot, lambda: view.status == "interrupted")
        assert app.chat.status.state == "interrupted"
    assert not server.requests


async def test_resumed_session_shows_the_stored_bang_block(
    make_app: Any, project: Path, server: StreamServer
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "!echo STORED-BLOCK")
        await wait_for(pilot, lambda: app.chat.query(ToolCallView) and not app.chat.running)
        await app.engine.flush()
        session_id = app.engine.session.id
    again = make_app(session_id=session_id)
    async with again.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: again.chat.query(ToolCallView))
        view = again.chat.query_one(ToolCallView)
        assert view.tool == "bash" and "STORED-BLOCK" in view.output
        assert [w.text for w in again.chat.query(UserMessage)] == ["!echo STORED-BLOCK"]


async def test_ctrl_r_searches_earlier_sessions_and_escape_keeps_the_draft(
    make_app: Any, project: Path, server: StreamServer
) -> None:
    server.add(sse_reply("openai_text.sse"), sse_reply("openai_text.sse"))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "refactor the tokenizer")
        await wait_for(pilot, lambda: app.chat.status.state == "ready" and server.requests)
        await type_and_send(pilot, "write docs for the parser")
        await wait_for(pilot, lambda: len(server.requests) == 2 and not app.chat.running)
        await app.chat.new_session()
        app.chat.prompt.sent.clear()  # as after a restart: only the store remembers

        prompt = app.chat.prompt
        prompt.focus()
        await pilot.press(*"my draft")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, HistorySearchScreen))
        screen = app.screen
        assert [screen.entries[i] for i in screen.shown] == [
            "write docs for the parser",
            "refactor the tokenizer",
        ]
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HistorySearchScreen))
        assert prompt.text == "my draft"

        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, HistorySearchScreen))
        await pilot.press(*"token")
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.shown) == 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: prompt.text == "refactor the tokenizer")
        assert prompt.has_focus
    assert len(server.requests) == 2  # picking does not send


async def test_ctrl_g_without_an_editor_says_so_and_keeps_the_text(
    make_app: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("EDITOR", "no-such-editor-xyz")
    monkeypatch.delenv("VISUAL", raising=False)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.chat.prompt.focus()
        await pilot.press(*"keep me")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: app._notifications)
        note = list(app._notifications)[-1]
        assert "no-such-editor-xyz" in note.message and "EDITOR" in note.message
        assert app.chat.prompt.text == "keep me"


async def test_env_mention_asks_first_and_denied_is_never_sent(
    make_app: Any, project: Path, server: StreamServer
) -> None:
    from opencode.tui.screens.permission import PermissionScreen

    (project / ".env").write_text("API_KEY=never-to-the-model-31337\n")
    server.add(sse_reply("openai_text.sse"))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "what is in @.env")
        await wait_for(pilot, lambda: isinstance(app.screen, PermissionScreen))
        await wait_for(pilot, lambda: app.screen.armed)
        await pilot.press("d")
        await wait_for(pilot, lambda: server.requests and app.chat.status.state == "ready")
        view = app.chat.query_one(ToolCallView)
        assert view.tool == "read" and view.status == "denied"
    sent = json.dumps(server.requests[0].json())
    assert "never-to-the-model-31337" not in sent
    assert "@.env was not attached" in sent


async def test_history_list_follows_the_query_in_the_turn_that_changed_it() -> None:
    # The list is rebuilt while the key is handled, not a message later, so the key's echo and
    # the new list are drawn in one frame.
    from textual.app import App
    from textual.widgets import Input

    entries = ["refactor the tokenizer", "write docs for the parser", "tokenize the docs"]
    app: App[None] = App()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = HistorySearchScreen(entries)
        await app.push_screen(screen)
        await pilot.pause()
        query = screen.query_one("#history-query", Input)
        query.value = "tok"
        assert [entries[i] for i in screen.shown] == [entries[0], entries[2]]
        query.value = "tok docs"
        assert [entries[i] for i in screen.shown] == [entries[2]]
        query.value = ""
        assert screen.shown == [0, 1, 2]


async def test_history_keystrokes_reuse_options_and_reset_the_highlight() -> None:
    from textual.app import App

    entries = [f"message {i} about the parser" for i in range(30)]
    app: App[None] = App()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = HistorySearchScreen(entries)
        await app.push_screen(screen)
        await pilot.pause()
        first = screen.options.get_option_at_index(0)
        await pilot.press("down", "down")
        assert screen.options.highlighted == 2
        await pilot.press(*"pars")  # the same matches: the highlight goes back to the newest
        await wait_for(pilot, lambda: screen.options.highlighted == 0)
        assert screen.shown == list(range(30)) and screen.options.option_count == 30
        await pilot.press(*"zz")
        await wait_for(pilot, lambda: not screen.shown)
        assert screen.options.option_count == 1  # "no message matches"
        await pilot.press("backspace", "backspace")
        await wait_for(pilot, lambda: len(screen.shown) == 30)
        assert screen.options.get_option_at_index(0) is first  # label built once, reused
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is not screen)
