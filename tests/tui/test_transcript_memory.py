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

from opencode.tui.widgets.markdown_stream import StreamingMarkdown
from opencode.tui.widgets.message_views import AssistantMessage
from tests.support.tui_app import make_test_app, stream_long_turns
from tests.tui.conftest import wait_for

TURNS = 10  # 600-line replies: the line budget prunes the oldest messages twice or more


def alive(kind: type) -> list[Any]:
    """Every object of ``kind`` the collector tracks: reachable or garbage not yet collected
    (objects frozen at start-up are not listed; nothing here was made before it)."""
    return [o for o in gc.get_objects() if isinstance(o, kind)]


async def test_removed_messages_leave_no_rendered_lines_behind(tmp_path: Path) -> None:
    app = await make_test_app(tmp_path, open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await stream_long_turns(app, pilot, TURNS)
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
        await stream_long_turns(app, pilot, TURNS)
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
