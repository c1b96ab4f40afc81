"""Keys first: from a key's arrival until the screen has painted it, streaming work waits (the
runner at its next event, the markdown renderer's slices), and never for longer than
``pacing.MAX_HOLD_S``. Counts and conditions, no timings: figures are in bench/tui_latency.py."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

from opencode.sessions.events import EventBus, PartDelta
from opencode.tui import pacing
from opencode.tui.pacing import InputGate, Pacer
from opencode.tui.widgets.markdown_stream import StreamingMarkdown
from opencode.tui.widgets.message_views import AssistantMessage
from tests.support.stream_server import StreamServer
from tests.support.tui_app import make_test_app
from tests.tui.conftest import sse_reply, type_and_send, wait_for

DELTA = PartDelta("ses", "prt", "text", "abcd")


@pytest.fixture
def long_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hold that only a release ends (a slow test machine must not expire it)."""
    monkeypatch.setattr(pacing, "MAX_HOLD_S", 3600.0)


def test_the_gate_holds_until_every_input_is_released(long_holds: None) -> None:
    gate = InputGate()
    assert not gate.holding()
    gate.hold()
    gate.hold()
    gate.release()
    assert gate.holding()  # one key is still on its way
    gate.release()
    assert not gate.holding()
    gate.release()  # a stray release does not go below zero
    gate.hold()
    assert gate.holding()


def test_a_hold_never_outlasts_max_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pacing, "MAX_HOLD_S", 0.0)  # a release that never comes
    gate = InputGate()
    gate.hold()
    assert not gate.holding()


async def test_the_runner_waits_at_its_next_event_while_a_key_is_on_its_way(
    long_holds: None,
) -> None:
    gate = InputGate()
    bus = EventBus()
    seen: list[str] = []
    bus.subscribe(lambda event: seen.append("delivered") if event is DELTA else None)
    bus.subscribe(Pacer(gate))
    gate.hold()
    emitting = asyncio.create_task(bus.emit(DELTA))  # the runner's emit
    for _ in range(20):
        await asyncio.sleep(0)
    assert seen == ["delivered"]  # delivered, and the runner is parked after it
    assert not emitting.done()
    assert gate.waits == 1
    gate.release()
    await emitting  # released: the runner goes on


async def test_an_expired_hold_lets_the_runner_go(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pacing, "MAX_HOLD_S", 0.01)
    gate = InputGate()
    pacer = Pacer(gate)
    gate.hold()
    pause = pacer(DELTA)
    assert pause is not None
    await pause  # returns with no release: the hold ran out


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.input_gate = InputGate()

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield StreamingMarkdown(id="streamed")


async def test_render_slices_wait_for_the_key_then_catch_up(long_holds: None) -> None:
    app = Host()
    async with app.run_test(size=(80, 20)) as pilot:
        streamed = app.query_one("#streamed", StreamingMarkdown)
        streamed.append("first\n\nsecond\n\n")
        await wait_for(pilot, lambda: not streamed.catching_up)
        app.input_gate.hold()
        streamed.append("third\n\nfourth\n\n")
        streamed.flush()
        assert streamed.deferred == 1
        assert streamed.catching_up  # not rendered while the key is on its way
        assert streamed._flush_handle is not None  # but tried again
        app.input_gate.release()
        await wait_for(pilot, lambda: not streamed.catching_up)
        text = [streamed.render_line(y).text.strip() for y in range(streamed.size.height)]
        assert [line for line in text if line] == ["first", "second", "third", "fourth"]


async def test_a_key_holds_the_gate_until_the_screen_has_painted_it(
    tmp_path: Path, long_holds: None
) -> None:
    app = await make_test_app(tmp_path, open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        gate = app.input_gate
        held = gate.holds
        await pilot.press("h", "i")
        await wait_for(pilot, lambda: app.chat.prompt.text == "hi")
        assert gate.holds == held + 2
        # Released by the frame after each key (the hold cannot expire in this test).
        await wait_for(pilot, lambda: not gate.holding())


async def test_escape_says_interrupted_before_the_runner_has_cleaned_up(
    make_app: Any, server: StreamServer
) -> None:
    server.add(sse_reply("openai_text.sse", delay=0.5))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "slow one")
        await wait_for(pilot, lambda: app.chat.query(AssistantMessage) and app.chat.running)
        app.chat.action_cancel_turn()
        # The worker has not even seen its cancellation yet; the status says it already.
        assert app.chat.running
        assert app.chat.status.state == "interrupted"
        await wait_for(pilot, lambda: not app.chat.running)
        assert app.chat.status.state == "interrupted"
