"""HTTP failures through the real loopback server: status errors, retries, cuts, timeouts."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from opencode.sessions.events import Finish, ProviderError, ProviderEvent, TextDelta
from opencode.sessions.providers.base import ApiKind
from opencode.sessions.providers.http import provider_error_text, retry_after_seconds
from tests.providers.helpers import PATHS, SECRET, collect, config, fixture, merge_deltas
from tests.support.stream_server import Reply, StreamServer

JSON = {"content-type": "application/json"}
ENDPOINT = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages", "ollama": "/api/chat"}
TEXT_FIXTURE = {
    "openai": "openai_text.sse",
    "anthropic": "anthropic_text.sse",
    "ollama": "ollama_text.ndjson",
}
APIS: list[ApiKind] = ["openai", "anthropic", "ollama"]


def only_error(events: list[ProviderEvent]) -> ProviderError:
    assert len(events) == 1, events
    assert isinstance(events[0], ProviderError)
    return events[0]


def assert_no_secret(error: ProviderError) -> None:
    assert SECRET not in repr(error)
    assert SECRET[7:] not in repr(error)


@pytest.mark.parametrize(
    ("api", "body", "text"),
    [
        ("openai", fixture("openai_401.json"), "Incorrect API key provided"),
        ("anthropic", fixture("anthropic_401.json"), "invalid x-api-key"),
        ("ollama", b'{"error":"unauthorized"}', "unauthorized"),
    ],
)
async def test_401_names_status_url_provider_text_and_api_key_hint(
    api: ApiKind, body: bytes, text: str
) -> None:
    # The server echoes the key back in full: it must still never reach the message.
    echoed = body.replace(b'"}', f' (key {SECRET})"}}'.encode(), 1)
    with StreamServer([Reply(echoed, status=401, headers=JSON, chunked=False)]) as server:
        error = only_error(await collect(config(api, server.url)))
    assert error.status == 401 and not error.retryable
    assert "HTTP 401" in error.message and text in error.message
    assert f"{server.url}{ENDPOINT[api]}" in error.message
    assert error.url == f"{server.url}{ENDPOINT[api]}"
    assert error.hint is not None and "check api_key for provider mock" in error.hint
    assert "opencode.toml" in error.hint
    assert_no_secret(error)
    assert len(server.requests) == 1


async def test_401_without_a_key_says_none_is_set() -> None:
    with StreamServer([Reply(fixture("openai_401.json"), status=401, headers=JSON)]) as server:
        error = only_error(await collect(config("openai", server.url, api_key=None)))
    assert error.hint is not None and "has no api_key" in error.hint


@pytest.mark.parametrize(
    ("api", "body", "text"),
    [
        ("openai", fixture("openai_404.json"), "The model `gpt-9-turbo` does not exist"),
        ("ollama", fixture("ollama_404.json"), 'model "qwen9:70b" not found'),
        ("anthropic", b"404 page not found", "404 page not found"),
    ],
)
async def test_404_hints_at_base_url_and_model(api: ApiKind, body: bytes, text: str) -> None:
    reply = Reply(body, status=404, headers=JSON if body.startswith(b"{") else {})
    with StreamServer([reply]) as server:
        error = only_error(await collect(config(api, server.url)))
    assert "HTTP 404" in error.message and text in error.message
    assert server.url in error.message
    assert error.hint is not None
    assert "check base_url" in error.hint and "'test-model'" in error.hint


@pytest.mark.parametrize("api", APIS)
async def test_429_honours_retry_after_then_succeeds(api: ApiKind) -> None:
    body = fixture("anthropic_429.json" if api == "anthropic" else "openai_429.json")
    limited = Reply(body, status=429, headers={**JSON, "retry-after": "1"}, chunked=False)
    ok = Reply(fixture(TEXT_FIXTURE[api]))
    with StreamServer([limited, ok]) as server:
        started = time.monotonic()
        events = await collect(config(api, server.url, max_retries=1))
        elapsed = time.monotonic() - started
    assert len(server.requests) == 2
    assert elapsed >= 1.0
    assert isinstance(events[-1], Finish) and isinstance(events[0], TextDelta)
    assert server.requests[0].body == server.requests[1].body


async def test_429_without_retries_left_reports_rate_limit() -> None:
    reply = Reply(fixture("anthropic_429.json"), status=429, headers={**JSON, "retry-after": "20"})
    with StreamServer([reply]) as server:
        error = only_error(await collect(config("anthropic", server.url)))
    assert error.status == 429 and error.retryable
    assert "rate_limit_error" in error.message and "50 requests per minute" in error.message
    assert error.hint is not None and "rate limited" in error.hint and "20 s" in error.hint


async def test_retry_after_beyond_the_cap_is_not_waited_for() -> None:
    reply = Reply(fixture("openai_429.json"), status=429, headers={**JSON, "retry-after": "3600"})
    with StreamServer([reply]) as server:
        started = time.monotonic()
        error = only_error(await collect(config("openai", server.url, max_retries=3)))
    assert time.monotonic() - started < 1.0
    assert len(server.requests) == 1 and error.status == 429


async def test_500_is_retried_max_retries_times_then_reported() -> None:
    reply = Reply(fixture("openai_500.json"), status=500, headers={**JSON, "retry-after": "0"})
    with StreamServer([reply]) as server:
        error = only_error(await collect(config("openai", server.url, max_retries=2)))
    assert len(server.requests) == 3
    assert error.status == 500 and error.retryable
    assert "HTTP 500" in error.message and "The server had an error" in error.message
    assert error.hint is not None and "server error" in error.hint


async def test_plain_text_502_body_is_quoted() -> None:
    reply = Reply(
        b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>",
        status=502,
        headers={"content-type": "text/html"},
    )
    with StreamServer([reply]) as server:
        error = only_error(await collect(config("openai", server.url)))
    assert "HTTP 502 Bad Gateway" in error.message and "nginx" in error.message
    assert "<h1>" not in error.message


async def test_400_is_not_retried() -> None:
    body = b'{"error":{"message":"max_tokens is too large","type":"invalid_request_error"}}'
    with StreamServer([Reply(body, status=400, headers=JSON)]) as server:
        error = only_error(await collect(config("openai", server.url, max_retries=3)))
    assert len(server.requests) == 1 and not error.retryable
    assert "max_tokens is too large" in error.message


CUT_BEFORE = {
    "openai": (b'" today"', ["Hello", "!", " How", " can", " I", " help", " you"]),
    "anthropic": (b'" help you today?"', ["Hello", "! How can I"]),
    "ollama": (b'" Rayleigh"', ["The", " sky", " is", " blue", " because", " of"]),
}


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("coalesced", [False, True])
async def test_cut_stream_yields_events_before_the_cut_then_error(
    api: ApiKind, coalesced: bool
) -> None:
    raw = fixture(TEXT_FIXTURE[api])
    marker, before = CUT_BEFORE[api]
    cut = raw.index(marker) + 3  # mid-line: the partial line must not be parsed
    cfg = config(api, "", max_retries=3, options={"coalesce": coalesced})
    with StreamServer([Reply(raw, chunk_size=16, cut_after=cut)]) as server:
        cfg.base_url = server.url + PATHS[api]
        events = await collect(cfg)
    assert len(server.requests) == 1  # never retried once the body started
    expected: list[ProviderEvent] = [TextDelta(t) for t in before]
    if coalesced:  # deltas that arrived together are merged; the text and order are the same
        assert merge_deltas(events[:-1]) == merge_deltas(expected)
    else:
        assert events[:-1] == expected
    error = events[-1]
    assert isinstance(error, ProviderError) and error.retryable
    assert "cut off mid-reply" in error.message and server.url in error.message
    assert error.hint is not None and "text received so far is kept" in error.hint


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("api", APIS)
async def test_connection_refused_names_url_and_asks_if_server_runs(api: ApiKind) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    error = only_error(await collect(config(api, url)))
    assert f"{url}{ENDPOINT[api]}" in error.message and "could not connect" in error.message
    assert error.retryable
    assert error.hint is not None and f"is the server running at {url}" in error.hint


async def test_connection_refused_is_retried_with_backoff() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    error = only_error(await collect(config("openai", url, max_retries=1)))
    assert time.monotonic() - started >= 0.5  # the first backoff step
    assert "could not connect" in error.message


async def test_read_timeout_when_server_sends_headers_only() -> None:
    with StreamServer([Reply(hang=True)]) as server:
        started = time.monotonic()
        error = only_error(await collect(config("openai", server.url, timeout=0.4)))
        elapsed = time.monotonic() - started
    assert 0.35 <= elapsed < 3
    assert "no data from" in error.message and server.url in error.message
    assert error.hint is not None and "raise [provider.mock] timeout" in error.hint


async def test_read_timeout_mid_stream_keeps_earlier_events() -> None:
    raw = fixture("ollama_text.ndjson")
    # One line a second: slower than the timeout.
    with StreamServer(
        [Reply(raw, headers={"content-type": "application/x-ndjson"}, delay=1.0)]
    ) as server:
        events = await collect(config("ollama", server.url, timeout=0.3))
    assert events[0] == TextDelta("The") and len(events) == 2
    assert isinstance(events[-1], ProviderError) and "no data from" in events[-1].message


def test_retry_after_parses_seconds_and_http_dates() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    now = datetime(2026, 11, 22, 1, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(later, now=now.timestamp()) == pytest.approx(30.0)
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(earlier, now=now.timestamp()) == 0.0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"error":{"message":"bad key","type":"auth"}}', "bad key (auth)"),
        (b'{"error":"model not found"}', "model not found"),
        (b'{"detail":"Not Found"}', "Not Found"),
        (b'[{"error":{"message":"quota","code":429}}]', "quota"),
        (b"upstream connect error", "upstream connect error"),
        (b"", ""),
    ],
)
def test_provider_error_text(body: bytes, expected: str) -> None:
    assert provider_error_text(body) == expected


def test_provider_error_text_is_truncated() -> None:
    assert len(provider_error_text(b"x" * 5000)) <= 400


@pytest.mark.parametrize("api", APIS)
async def test_empty_200_body_is_an_error_for_every_api(api: ApiKind) -> None:
    with StreamServer([Reply(b"")]) as server:
        error = only_error(await collect(config(api, server.url)))
    assert "server returned an empty stream" in error.message
    assert f"{server.url}{ENDPOINT[api]}" in error.message
    assert error.hint is not None and "base_url" in error.hint


async def test_500_message_has_url_and_never_the_key_or_custom_secret_headers() -> None:
    token = "tok-CUSTOM-77665544"
    body = f'{{"error":{{"message":"boom for Bearer {SECRET} and {token}"}}}}'.encode()
    with StreamServer([Reply(body, status=503, headers=JSON)]) as server:
        cfg = config("openai", server.url, headers={"X-Auth-Token": token})
        error = only_error(await collect(cfg))
        assert server.requests[0].headers["x-auth-token"] == token
    assert "HTTP 503 Service Unavailable" in error.message and "boom for Bearer" in error.message
    assert f"{server.url}/v1/chat/completions" in error.message
    assert_no_secret(error)
    assert token not in repr(error)


async def test_redirect_hint_names_the_location() -> None:
    reply = Reply(b"", status=301, headers={"location": "https://api.example.com/v1"})
    with StreamServer([reply]) as server:
        error = only_error(await collect(config("openai", server.url)))
    assert error.status == 301 and error.hint is not None
    assert "https://api.example.com/v1" in error.hint and "base_url" in error.hint


async def test_anthropic_529_overloaded_is_retried_then_reported() -> None:
    reply = Reply(fixture("anthropic_529.json"), status=529, headers={**JSON, "retry-after": "0"})
    with StreamServer([reply]) as server:
        error = only_error(await collect(config("anthropic", server.url, max_retries=1)))
    assert len(server.requests) == 2
    assert error.status == 529 and error.retryable
    assert "HTTP 529" in error.message and "Overloaded (overloaded_error)" in error.message
