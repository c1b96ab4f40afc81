"""The status line's context meter and provider note, driven by real turns (Pilot) against a
loopback server and a real SQLite store."""

from __future__ import annotations

from typing import Any

from opencode.tui.widgets.status import context_meter
from tests.resilience.helpers import dead_url
from tests.support.stream_server import StreamServer
from tests.tui.conftest import sse_reply, type_and_send, wait_for

# openai_text.sse reports 19 prompt + 10 completion tokens
WINDOW = '[provider.mock.context_window]\n"test-model" = 100\n'


def test_meter_text() -> None:
    assert context_meter(12_345, 128_000) == "ctx 12k/128k 10%"
    assert context_meter(950, None) == "ctx 950"
    assert context_meter(1_200_000, 1_048_576) == "ctx 1.2M/1.0M 114%"


async def test_status_line_shows_the_context_meter_after_a_turn(
    make_app: Any, server: StreamServer
) -> None:
    server.add(sse_reply("openai_text.sse"))
    app = make_app(extra=WINDOW)
    async with app.run_test(size=(140, 30)) as pilot:
        status = app.chat.status
        assert "ctx" not in str(status.render())  # nothing called yet: no meter
        await type_and_send(pilot, "Say hello")
        await wait_for(pilot, lambda: not app.chat.running and status.state == "ready")
        assert (status.context_used, status.context_window) == (29, 100)
        assert "ctx 29/100 29%" in str(status.render())
        assert app.engine.context_usage() == (29, 100)


async def test_status_line_says_when_a_fallback_answered(
    make_app: Any, server: StreamServer
) -> None:
    server.add(sse_reply("openai_text.sse"))
    extra = (
        f'[provider.dead]\napi = "openai"\nbase_url = "{dead_url()}/v1"\nmax_retries = 0\n'
        'fallback = ["mock/test-model"]\n'
    )
    app = make_app(extra=extra, model="dead/m")
    async with app.run_test(size=(160, 30)) as pilot:
        status = app.chat.status
        await type_and_send(pilot, "Say hello")
        await wait_for(pilot, lambda: not app.chat.running and status.state == "ready")
        rendered = str(status.render())
        assert "answered by mock/test-model (dead/m failed)" in rendered, rendered
        # the meter is the fallback's: no window known for it, so no meter (tokens are shown)
        assert status.context_used == 29 and "ctx" not in rendered
        assert app.engine.answered_by == "mock/test-model"
