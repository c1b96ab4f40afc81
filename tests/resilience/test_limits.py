"""Client-side rpm/tpm limits: shared by concurrent turns, spread over the window, announced."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from opencode.sessions.providers.resilience.hub import LimiterRegistry
from opencode.sessions.providers.resilience.limits import TokenBucket
from tests.resilience.helpers import errors_of, harness, provider_toml, text_of, text_reply
from tests.support.stream_server import StreamServer


class FakeTime:
    """A monotonic clock that a sleep advances: waits are computed, never slept."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


async def test_twenty_concurrent_requests_against_rpm_10_spread_over_the_minute(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    stream_server.add(text_reply())
    fake = FakeTime()
    limiters = LimiterRegistry(clock=fake.clock, sleep=fake.sleep)
    # The loopback server queues 5 pending connections; a burst of 10 can see one reset
    # before the request is read. The chain retries it (as it would a real one), so give it
    # room: this test is about the limiter, not the breaker.
    text = provider_toml("a", stream_server.url, "rpm = 10\nfailure_threshold = 100")
    text = text.replace("max_retries = 2", "max_retries = 5")
    h = await harness(tmp_path, text, limiters=limiters)
    started: list[float] = []
    h.hub.observers.append(lambda n: started.append(fake.now) if n.kind == "attempt" else None)
    try:
        results = await asyncio.wait_for(asyncio.gather(*(h.ask() for _ in range(20))), 30)
        assert all(text_of(r) and not errors_of(r) for r in results), [
            e.message for r in results for e in errors_of(r)
        ]
        # a full bucket (10) at once, then one attempt every 6 s; a retried attempt is a
        # request too and takes its own slot, so the spacing holds for every attempt
        assert len(started) >= len(stream_server.requests) >= 20
        assert started[:10] == [0.0] * 10
        assert started[10:] == pytest.approx([6.0 * k for k in range(1, len(started) - 9)])
        waits = [n for n in h.notices if n.kind == "rate_wait"]
        assert len(waits) == len(started) - 10 and all(
            n.seconds == pytest.approx(6.0) for n in waits
        )
        assert "requests per minute" in waits[0].text
    finally:
        await h.aclose()


async def test_token_bucket_charges_the_difference_reported_by_usage() -> None:
    fake = FakeTime()
    bucket = TokenBucket(600, "tokens", fake.clock, fake.sleep)
    assert await bucket.acquire(100) == 0.0
    bucket.settle(400)  # the reply used 400 more than estimated: 100 left
    seen: list[tuple[float, str]] = []
    waited = await bucket.acquire(200, lambda s, what: seen.append((s, what)))
    assert waited == pytest.approx(10.0)  # 100 short at 10 tokens/s
    assert seen == [(pytest.approx(10.0), "tokens")]


async def test_a_request_larger_than_the_bucket_still_goes_out_once_it_is_full() -> None:
    fake = FakeTime()
    bucket = TokenBucket(60, "tokens", fake.clock, fake.sleep)
    assert await bucket.acquire(10_000) == 0.0  # capped at a full bucket, not refused forever
    assert await bucket.acquire(60) == pytest.approx(60.0)
