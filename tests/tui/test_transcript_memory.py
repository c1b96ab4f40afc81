"""Messages the transcript takes out are freed, so a long session's memory follows what is
mounted (issue 17, item 6): no cache keeps the rendered lines of a removed widget, and the
app's collector policy (full passes are rare while streaming) does not leave removed widgets
as uncollected garbage. Counts of live objects, not timings or RSS."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from textual._styles_cache import StylesCache
from textual.widget import Widget

from opencode.sessions.events import MessageFinished, MessageStarted, PartStarted
from opencode.sessions.ids import new_id
from opencode.tui.widgets.markdown_stream import StreamingMarkdown
from opencode.tui.widgets.message_views import AssistantMessage
from tests.support.tui_app import make_test_app, stream_events_into
from tests.tui.conftest import wait_for

REPLY = "\n\n".join(f"Paragraph {n}: a line of a long answer." for n in range(300))
TURNS = 10  # 600-line replies: the line budget prunes the oldest messages twice or more


async def run_turns(app: Any, pilot: Any, turns: int) -> None:
    transcript = app.chat.transcript
    sid = "ses_memory"
    for turn in range(turns):
        user = new_id("msg")
        transcript.session_id = sid
        transcript.handle_event(MessageStarted(sid, user, "user"))
        transcript.handle_event(PartStarted(sid, user, new_id("prt"), 1, "text", f"q {turn}"))
        transcript.handle_event(MessageFinished(sid, user, "stop"))
        widget, push, done = await stream_events_into(app, session_id=sid)
        await push(REPLY)
        await done()
        await wait_for(pilot, lambda w=widget: w.size.height > 500)  # type: ignore[misc]
    await pilot.pause()


def alive(kind: type) -> list[Any]:
    """Every object of ``kind`` the collector tracks: reachable or garbage not yet collected
    (objects frozen at start-up are not listed; nothing here was made before it)."""
    return [o for o in gc.get_objects() if isinstance(o, kind)]


async def test_removed_messages_leave_no_rendered_lines_behind(tmp_path: Path) -> None:
    app = await make_test_app(tmp_path, open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await run_turns(app, pilot, TURNS)
        assert app.chat.transcript.query(".load-more")  # old messages were taken out
        gc.collect()
        # Every widget owns one StylesCache (the lines it rendered): a StylesCache with no
        # widget is a removed message's lines kept alive by a cache (textual#6665).
        orphans = len(alive(StylesCache)) - len(alive(Widget))
        assert orphans <= 0


async def test_removed_messages_are_collected_without_a_forced_collection(
    tmp_path: Path,
) -> None:
    app = await make_test_app(tmp_path, open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        transcript = app.chat.transcript
        await run_turns(app, pilot, TURNS)
        assert transcript.query(".load-more")

        def removed(kind: type) -> list[Any]:
            mounted: set[Any] = set(transcript.query(kind))
            return [o for o in alive(kind) if o not in mounted]

        # Widgets are reference cycles: only a full collection frees them, and the app
        # runs one once the transcript has removed them (no gc.collect() in this test).
        await wait_for(pilot, lambda: not removed(AssistantMessage))
        assert not removed(StreamingMarkdown)

        await transcript.clear()  # a new session: every message goes
        await wait_for(pilot, lambda: not alive(AssistantMessage))
        assert not alive(StreamingMarkdown)
