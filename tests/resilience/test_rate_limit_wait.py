"""A server-requested wait says who and why: ``ProviderError.retry_after`` read from the reply's
headers (``Retry-After`` as seconds or an HTTP date, OpenAI and Anthropic reset headers), the
chain honouring it up to ``max_wait_s``, and notices with ``reason`` and ``provider`` fields."""

from __future__ import annotations

import datetime
import email.utils
import time
from pathlib import Path

import pytest

from opencode.sessions.providers.http import reset_seconds, server_wait
from opencode.sessions.providers.resilience.chain import Notice
from opencode.tui.widgets.status import notice_note
from tests.resilience.helpers import (
    errors_of,
    harness,
    json_error,
    provider_toml,
    text_of,
    text_reply,
)
from tests.support.stream_server import StreamServer

HELLO = "Hello! How can I help you today?"


async def _one_wait(tmp_path: Path, server: StreamServer, headers: dict[str, str]) -> Notice:
    server.add(json_error(429, "slow down", headers), text_reply())
    h = await harness(tmp_path, provider_toml("a", server.url))
    try:
        events = await h.ask()
        assert text_of(events) == HELLO and not errors_of(events)
        (wait,) = [n for n in h.notices if n.kind == "retry_wait"]
        assert h.sleeps == [wait.seconds]
        assert len(server.requests) == 2
        return wait
    finally:
        await h.aclose()


async def test_retry_after_seconds_is_waited_and_the_notice_says_who_and_why(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    wait = await _one_wait(tmp_path, stream_server, {"Retry-After": "2"})
    assert (wait.reason, wait.provider, wait.seconds, wait.ref) == (
        "rate limited",
        "a",
        2.0,
        "a/m1",
    )
    assert notice_note(wait) == "rate limited by a, retrying in 2 s"


async def test_retry_after_as_an_http_date_is_waited(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    when = email.utils.formatdate(time.time() + 6, usegmt=True)
    wait = await _one_wait(tmp_path, stream_server, {"Retry-After": when})
    # HTTP dates have whole seconds, and the request took a moment
    assert 3.0 <= wait.seconds <= 6.0 and wait.reason == "rate limited"


async def test_openai_reset_header_of_the_limit_that_ran_out_is_waited(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    headers = {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "7s",
        "x-ratelimit-remaining-tokens": "9000",
        "x-ratelimit-reset-tokens": "1m30s",
    }
    wait = await _one_wait(tmp_path, stream_server, headers)
    assert wait.seconds == 7.0


async def test_anthropic_reset_timestamp_is_waited(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    reset = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=9)
    headers = {
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": reset.isoformat().replace("+00:00", "Z"),
    }
    wait = await _one_wait(tmp_path, stream_server, headers)
    assert 7.0 <= wait.seconds <= 9.0


async def test_a_wait_over_max_wait_s_falls_back_at_once_and_says_why(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    limited = StreamServer([json_error(429, "quota", {"Retry-After": "30"})])
    limited.start()
    stream_server.add(text_reply())
    try:
        text = provider_toml("a", limited.url, 'fallback = ["b/m2"]\nmax_wait_s = 10')
        text += provider_toml("b", stream_server.url)
        h = await harness(tmp_path, text)
        try:
            events = await h.ask()
            assert text_of(events) == HELLO
            assert h.sleeps == [] and len(limited.requests) == 1
            (fallback,) = [n for n in h.notices if n.kind == "fallback"]
            assert (fallback.reason, fallback.provider, fallback.seconds) == (
                "rate limited",
                "a",
                30.0,
            )
            assert fallback.text.endswith("trying b/m2 instead of waiting 30 s")
        finally:
            await h.aclose()
    finally:
        limited.stop()


async def test_a_wait_over_max_wait_s_on_the_last_entry_is_refused_not_slept(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    stream_server.add(json_error(429, "quota", {"Retry-After": "30"}), text_reply())
    h = await harness(tmp_path, provider_toml("a", stream_server.url, "max_wait_s = 10"))
    try:
        events = await h.ask()
        (error,) = errors_of(events)
        assert error.status == 429 and error.retry_after == 30.0
        assert h.sleeps == [] and len(stream_server.requests) == 1
        (refused,) = [n for n in h.notices if n.kind == "wait_refused"]
        assert (refused.reason, refused.provider, refused.seconds) == ("rate limited", "a", 30.0)
        assert "max_wait_s (10 s)" in refused.text
        assert notice_note(refused) == "rate limited by a for 30 s: not waiting"
    finally:
        await h.aclose()


async def test_a_server_error_wait_names_its_status(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    stream_server.add(json_error(503, "busy", {"Retry-After": "1"}), text_reply())
    h = await harness(tmp_path, provider_toml("a", stream_server.url))
    try:
        assert text_of(await h.ask()) == HELLO
        (wait,) = [n for n in h.notices if n.kind == "retry_wait"]
        assert (wait.reason, wait.seconds) == ("server error 503", 1.0)
        assert notice_note(wait) == "server error 503 by a, retrying in 1 s"
    finally:
        await h.aclose()


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("6m0s", 360.0), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("2", 2.0), ("1.5s", 1.5)],
)
def test_reset_durations(value: str, seconds: float) -> None:
    assert reset_seconds(value) == pytest.approx(seconds)


def test_unparseable_headers_say_nothing() -> None:
    assert server_wait({"Retry-After": "soon"}) is None
    assert server_wait({"x-ratelimit-reset-requests": "later"}) is None
    assert server_wait({}) is None
    assert server_wait({"retry-after-ms": "1500"}) == 1.5
    # Retry-After wins over reset headers; a past date is no wait at all
    assert server_wait({"Retry-After": "3", "x-ratelimit-reset-requests": "9s"}) == 3.0
    assert server_wait({"Retry-After": "Tue, 01 Jan 2002 00:00:00 GMT"}) == 0.0
