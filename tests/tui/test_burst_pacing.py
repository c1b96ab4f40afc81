"""An unthrottled reply gives input a turn: the body's lines come in bounded batches, and the
pacer counts a producer as busy until the loop has really turned (gaps between its events
while it parses a batch are no turn). Real loopback server for the reader."""

from __future__ import annotations

import asyncio
import time

import httpx

from opencode.sessions.events import PartDelta, ProviderError
from opencode.sessions.providers import stream_reader
from opencode.sessions.providers.stream_reader import LineReader, StreamLimits
from opencode.tui import pacing
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
