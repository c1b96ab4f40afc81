"""Custom commands in the TUI: offered in ``/`` completion with their description, and typing
one sends its expansion as the user message with the command's model and tools (a real app,
a real loopback provider)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.stream_server import StreamServer
from tests.tui.conftest import sse_reply, type_and_send, wait_for


async def test_a_custom_command_completes_and_sends_its_expansion(
    make_app: Any, server: StreamServer, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = project / ".opencode" / "commands"
    folder.mkdir(parents=True)
    (folder / "tuidemo.md").write_text(
        "---\ndescription: say hi to someone\nmodel: mock/other-model\nallowed-tools: Read\n"
        "---\nGreet $1 warmly; also: $ARGUMENTS\n"
    )
    (folder / "help.md").write_text("I would shadow /help\n")
    monkeypatch.chdir(project)
    server.add(sse_reply("openai_text.sse"))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        from opencode.tui.commands import custom_warnings, slash_entries

        entries = dict(slash_entries())
        assert entries["/tuidemo"] == "say hi to someone"
        assert entries["/help"] == "list every command", "the built-in keeps its name"
        assert any("/help" in w and "help.md" in w for w in custom_warnings(project))
        # Textual keeps posted notifications here; it has no public accessor for them.
        shown = [n.message for n in app._notifications]
        assert any("help.md" in m and "the built-in wins" in m for m in shown), shown
        await type_and_send(pilot, "/tuidemo Ada Lovelace")
        await wait_for(pilot, lambda: server.requests and app.chat.status.state == "ready")
    body = server.requests[0].json()
    assert body["model"] == "other-model", "the command's model, for this turn"
    assert [t["function"]["name"] for t in body["tools"]] == ["read"]
    messages = body["messages"]
    assert messages[-1] == {
        "role": "user",
        "content": "Greet Ada warmly; also: Ada Lovelace\n",
    }


async def test_markup_in_a_custom_command_description_is_shown_literally(
    make_app: Any, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command file (or an MCP server) writes its own description: ``[/]`` or a ``[link]``
    in it ended the app with a MarkupError at the first ``/``."""
    folder = project / ".opencode" / "commands"
    folder.mkdir(parents=True)
    (folder / "evil.md").write_text(
        "---\ndescription: see [link=https://x]here[/link] [/] [bold]loud\n---\nbody\n"
    )
    monkeypatch.chdir(project)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        from textual.widgets import OptionList

        prompt = app.chat.prompt
        prompt.focus()
        await pilot.press("/", "e", "v")
        box = app.chat.query_one("#slash-suggestions", OptionList)
        await wait_for(pilot, lambda: box.option_count > 0)
        shown = str(box.get_option_at_index(0).prompt)
        assert "[link=https://x]here[/link] [/] [bold]loud" in shown
        assert app.is_running
