"""A long session opens with only its latest page mounted and loads earlier pages on scroll."""

from __future__ import annotations

from typing import Any

from tests.tui.conftest import wait_for
from tui.testing import seed_long_session
from tui.widgets.transcript import PAGE, AssistantMessage, UserMessage


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
