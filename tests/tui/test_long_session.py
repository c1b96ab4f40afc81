"""A long session opens with only its latest page mounted and loads earlier pages on scroll."""

from __future__ import annotations

from typing import Any

from opencode.tui.widgets.message_views import AssistantMessage, UserMessage
from opencode.tui.widgets.transcript import PAGE
from tests.support.tui_app import seed_long_session
from tests.tui.conftest import wait_for


def mounted(app: Any) -> int:
    transcript = app.chat.transcript
    return len(transcript.query(UserMessage)) + len(transcript.query(AssistantMessage))


async def test_long_session_mounts_latest_page_and_loads_more_on_scroll(
    make_app: Any, project: Any
) -> None:
    probe = make_app()  # writes the config; its store path is where the session goes
    session_id = await seed_long_session(probe.config.db_path, project, 300)
    app = make_app(session_id=session_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: mounted(app) == PAGE)
        users = app.chat.transcript.query(UserMessage)
        assert users.last().text == "Question 298: fix it"
        assert app.chat.status.title == "300 messages"
        transcript = app.chat.transcript
        assert transcript.scroll_y == transcript.max_scroll_y
        transcript.scroll_to(y=0, animate=False)
        await wait_for(pilot, lambda: mounted(app) == 2 * PAGE)
        texts = [u.text for u in app.chat.transcript.query(UserMessage)]
        assert texts[0] == f"Question {300 - 2 * PAGE}: fix it"
        assert texts == sorted(texts, key=lambda t: int(t.split()[1].rstrip(":")))


async def test_live_session_unmounts_the_oldest_page_and_loads_it_back(make_app: Any) -> None:
    from opencode.sessions.events import MessageFinished, MessageStarted, PartStarted
    from opencode.tui.widgets.transcript import MAX_MOUNTED

    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.chat.transcript.session_id)
        sid = app.chat.transcript.session_id
        bus = app.engine.bus
        for i in range(MAX_MOUNTED + 2):
            await bus.emit(MessageStarted(sid, f"msg_{i:04d}", "user"))
            await bus.emit(PartStarted(sid, f"msg_{i:04d}", f"prt_{i:04d}", 1, "text", f"m{i}"))
            await bus.emit(MessageFinished(sid, f"msg_{i:04d}", "stop"))
        await pilot.pause(0.1)
        texts = [u.text for u in app.chat.transcript.query(UserMessage)]
        assert len(texts) <= MAX_MOUNTED
        assert texts[-1] == f"m{MAX_MOUNTED + 1}"
        assert app.chat.transcript.query(".load-more")
        dropped = int(texts[0][1:])
        assert dropped >= PAGE
        app.chat.transcript.scroll_to(y=0, animate=False)
        await wait_for(pilot, lambda: app.chat.transcript.query(UserMessage).first().text == "m0")
