"""The corrections panel (F8) in the real app: a rule added with /patch in chat shows up with
its hit count, and after a streamed reply it corrected, with what it changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.tui.widgets.markdown_stream import StreamingMarkdown
from tests.support.stream_server import StreamServer
from tests.tui.conftest import sse_reply, type_and_send, wait_for


async def test_f8_shows_rules_their_hits_and_what_they_changed(
    make_app: Any, server: StreamServer, project: Path
) -> None:
    from opencode.tui.panels.corrections import CorrectionsPanel

    server.add(sse_reply("openai_text.sse"))  # "Hello! How can I help you today?"
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("f8")
        panel = app.chat.query_one(CorrectionsPanel)
        await wait_for(pilot, lambda: panel.loaded)
        assert "/patch add" in panel.empty_text
        app.chat.prompt.focus()
        await type_and_send(pilot, '/patch add "Hello" "Howdy"')
        await wait_for(pilot, lambda: len(panel.items) == 1, limit=30)
        assert panel.items[0]["hits"] == 0
        await type_and_send(pilot, "Say hi")
        await wait_for(pilot, lambda: app.chat.status.state == "ready", limit=30)

        # The reply on screen was corrected, and the panel reloads with the hit and the log.
        def shown() -> str:
            return "".join(m.text for m in app.chat.query(StreamingMarkdown))

        await wait_for(pilot, lambda: "Howdy! How can I help" in shown(), limit=30)
        assert "Hello" not in shown()
        await pilot.press("f8")
        await pilot.press("f8")
        await wait_for(pilot, lambda: panel.items and panel.items[0]["hits"] == 1, limit=30)
        details = panel.details_plain()
        assert "'Hello'" in details and "Howdy" in details
