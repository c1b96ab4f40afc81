"""Esc twice, pick an earlier message of yours: the conversation goes back to just before it
and the message comes back to the prompt, to edit and send again from there (as in Claude
Code). The rewound turns stay stored, and text being typed is never thrown away."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.rewind.script import text_reply
from tests.rewind.test_tui_rewind import make_app, project, rows, server
from tests.support.stream_server import StreamServer
from tests.tui.conftest import send_turn, wait_for

__all__ = ["project", "server"]  # the fixtures, shared with the /rewind tests


async def open_rewind(pilot: Any) -> None:
    """Esc twice: the rewind picker."""
    from opencode.tui.screens.rewind import RewindScreen

    await pilot.press("escape", "escape")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, RewindScreen))


async def test_escape_twice_puts_the_picked_message_back_to_edit_and_resend(
    project: Path, server: StreamServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add(text_reply("first answer"), text_reply("second answer"), text_reply("edited answer"))
    app = make_app(project, server, monkeypatch)
    async with app.run_test(size=(120, 40)) as pilot:
        chat = app.chat
        for text in ("first question", "second question about the lexer"):
            await send_turn(pilot, text)
        chat.prompt.load_text("half-typed note")
        await open_rewind(pilot)
        assert [s.text for s in app.screen.steps][-1] == "second question about the lexer"
        await pilot.press("enter")  # the last step: the second question, files + conversation
        await wait_for(pilot, lambda: chat.prompt.text.startswith("second question"))
        assert chat.prompt.text == "second question about the lexer\n\nhalf-typed note"
        assert chat.prompt.has_focus
        shown = [m.text for m in chat.query("UserMessage")]
        assert shown == ["first question"]  # the transcript is back before it

        chat.prompt.load_text("second question about the parser")
        chat.prompt.move_cursor(chat.prompt.document.end)
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(server.requests) == 3)
        await wait_for(pilot, lambda: chat.status.state == "ready" and not chat.running)
    sent = [(m["role"], m["content"]) for m in server.requests[2].json()["messages"][1:]]
    assert sent == [
        ("user", "first question"),
        ("assistant", "first answer"),
        ("user", "second question about the parser"),
    ]
    # The earlier branch is kept, out of the conversation (``session show ID --all``).
    kept = rows(
        app,
        "SELECT p.content FROM message m JOIN part p ON p.message_id = m.id "
        "WHERE m.rewound_at IS NOT NULL AND m.role = 'user'",
    )
    assert kept == [("second question about the lexer",)]


async def test_a_files_only_rewind_leaves_the_prompt_alone(
    project: Path, server: StreamServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencode.tui.screens.rewind import RewindScreen

    server.add(text_reply("an answer"))
    app = make_app(project, server, monkeypatch)
    async with app.run_test(size=(120, 40)) as pilot:
        chat = app.chat
        await send_turn(pilot, "a question")
        await open_rewind(pilot)
        await pilot.press("c")  # files only: the conversation stays, so does the empty prompt
        await wait_for(pilot, lambda: not isinstance(app.screen, RewindScreen))
        await wait_for(pilot, lambda: any("/rewind" == o.line for o in chat.query("CommandOutput")))
        assert chat.prompt.text == ""
        assert [m.text for m in chat.query("UserMessage")] == ["a question"]
