"""An automatic compaction's summary call takes seconds before the turn's own call: the status
line says "compacting context…" while it runs, then the result (through the real engine path:
a tiny context window, a loopback server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.tui.widgets.status import COMPACTING, COMPACTION_FAILED
from tests.engine.helpers import openai_text_chunks
from tests.support.stream_server import Reply, StreamServer
from tests.tui.conftest import type_and_send, wait_for
from tests.tui.test_engine_notices import Toasts, _app

LONG = "Please remember this requirement: " + "alpha " * 120


@pytest.mark.parametrize("summary_ok", [True, False])
async def test_the_status_says_compacting_while_the_summary_runs(
    project: Path, server: StreamServer, monkeypatch: pytest.MonkeyPatch, summary_ok: bool
) -> None:
    summary = (
        Reply(body=openai_text_chunks(["SUMMARY of the first turn"]), first_byte_delay=0.3)
        if summary_ok
        else Reply(b'{"error": {"message": "boom"}}', status=400, chunked=False)
    )
    server.add(
        Reply(body=openai_text_chunks(["noted"])),
        summary,
        Reply(body=openai_text_chunks(["second answer"])),
    )
    app = _app(
        project,
        server,
        monkeypatch,
        "[compaction]\nthreshold = 0.5\nkeep_recent_turns = 0\n",
        "context_window = 200\n",
    )
    notes: list[str] = []
    lines: list[str] = []
    async with app.run_test(size=(140, 30), message_hook=Toasts()) as pilot:
        status = app.chat.status

        def seen(note: str) -> None:
            notes.append(note)
            lines.append(status.render().plain)  # what the status line draws now

        status.watch(status, "note", seen, init=False)
        await type_and_send(pilot, LONG)
        await wait_for(pilot, lambda: status.state == "ready" and len(server.requests) == 1)
        assert COMPACTING not in notes  # under the threshold: no compaction, no word of one
        await type_and_send(pilot, "short follow-up")
        await wait_for(pilot, lambda: len(server.requests) == 3)
        await wait_for(pilot, lambda: status.state == "ready")
        final = status.note
    assert COMPACTING in notes
    assert any(COMPACTING in line for line in lines)
    after = notes[notes.index(COMPACTING) + 1 :]
    if summary_ok:
        assert after and after[0].startswith("context compacted: "), notes
        assert final.startswith("context compacted: ")
    else:  # the turn went on without a compaction: the word does not stay
        assert after[:1] == [COMPACTION_FAILED] and final != COMPACTING, notes
        assert not any(n.startswith("context compacted") for n in after)
