"""A long live session keeps a bounded amount mounted: long replies count for their length, so
memory follows what is on screen, not how long the session has run; a finished message is no
longer held by the transcript's builder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.tui.widgets.message_views import AssistantMessage, UserMessage
from opencode.tui.widgets.transcript import LINE_BUDGET, MIN_MOUNTED
from tests.support.tui_app import make_test_app, stream_long_turns


async def test_long_replies_are_unmounted_by_line_budget(tmp_path: Path) -> None:
    app = await make_test_app(tmp_path, open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        transcript = app.chat.transcript
        await stream_long_turns(app, pilot, 14, session_id="ses_live")
        mounted = list(transcript.query(UserMessage)) + list(transcript.query(AssistantMessage))
        assert MIN_MOUNTED <= len(mounted) < 14
        assert transcript.virtual_size.height <= LINE_BUDGET + 2 * 650
        assert transcript.query(".load-more")
        builder: Any = transcript._builder
        assert len(builder.messages) <= 1  # finished replies are not held for more events
