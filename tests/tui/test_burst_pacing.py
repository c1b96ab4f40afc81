"""An unthrottled reply gives input a turn: the body's lines come in bounded batches, the
pacer counts a producer as busy until the loop has really turned (gaps between its events
while it parses a batch are no turn), and the first render's imports are taken ahead, a step
per loop turn. Real loopback server for the reader."""

from __future__ import annotations

import asyncio
import functools
import sys
import time

import httpx
import pytest

from opencode.sessions.events import PartDelta, ProviderError
from opencode.sessions.providers import stream_reader
from opencode.sessions.providers.stream_reader import LineReader, StreamLimits
from opencode.tui import pacing
from opencode.tui.widgets import markdown_blocks, markdown_stream
from tests.support.stream_server import Reply, StreamServer


async def test_buffered_lines_come_in_bounded_batches_all_in_order() -> None:
    lines = [b"data: %d" % i for i in range(stream_reader.BATCH_LINES * 5 + 7)]
    body = b"\n".join(lines) + b"\n"
    with StreamServer([Reply(body, chunk_size=None)]) as server:
        async with httpx.AsyncClient() as client:
            async with client.stream("GET", server.url) as response:

                def fault(problem: str, key: str) -> ProviderError:
                    return ProviderError(problem, code=key)

                reader = LineReader(response, StreamLimits(), fault)
                sizes: list[int] = []
                got: list[bytes] = []
                async for batch in reader.batches():
                    sizes.append(len(batch))
                    got += batch
                    # a slow consumer: the reader task buffers all of the body meanwhile
                    await asyncio.sleep(0.01)
    assert got == lines
    assert max(sizes) <= stream_reader.BATCH_LINES
    assert len(sizes) >= 6


async def test_pacer_pauses_a_producer_with_gaps_but_no_loop_turn() -> None:
    pacer = pacing.Pacer()
    event = PartDelta("ses", "prt", "text", "abcd")
    deadline = time.perf_counter() + 5
    pause = None
    while pause is None and time.perf_counter() < deadline:
        pause = pacer(event)
        busy_until = time.perf_counter() + pacing.GAP_S * 2
        while time.perf_counter() < busy_until:  # parsing the next batch, loop never turns
            pass
    assert pause is not None
    await pause
    assert pacer.pauses == 1


async def test_warm_up_takes_a_step_per_turn_and_waits_for_a_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taken: list[int] = []
    steps = [functools.partial(taken.append, i) for i in range(3)]
    monkeypatch.setattr(markdown_stream, "warm_steps", lambda: steps)
    gate = pacing.InputGate()
    gate.hold()  # a key on its way
    warming = asyncio.create_task(markdown_stream.warm_up(gate))
    for _ in range(20):
        await asyncio.sleep(0)
    assert taken == []  # nothing runs before the key's frame
    gate.release()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(taken) < 3  # one step per loop turn, not all at once
    await warming
    assert taken == [0, 1, 2]


def test_warm_steps_run_for_real() -> None:
    for step in markdown_blocks.warm_steps():
        step()
    assert "rich.markdown" in sys.modules
