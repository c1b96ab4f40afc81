"""``/export`` hands the session id and file name to the command as values: a file name that
looks like an option is still a file name after ``--`` (no quoted command line parsed back)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.tui.widgets.command_output import CommandOutput
from tests.support.stream_server import StreamServer
from tests.tui.conftest import sse_reply, type_and_send, wait_for


async def test_export_to_a_file_named_like_an_option(
    make_app: Any, server: StreamServer, project: Path
) -> None:
    server.add(sse_reply("openai_text.sse"))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "Export me")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        await type_and_send(pilot, "/export -- --notes.md")
        target = project / "--notes.md"
        await wait_for(pilot, lambda: target.exists() or bool(app.chat.query(".-failed")))
        assert not app.chat.query(".-failed"), app.chat.query(CommandOutput).last().plain
        assert "Export me" in target.read_text(encoding="utf-8")
