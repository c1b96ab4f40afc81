"""The fallback chain and its one retry loop, against real adapters and loopback servers."""

from __future__ import annotations

from pathlib import Path

from opencode.sessions.events import TextDelta
from tests.resilience.helpers import (
    SECRET,
    dead_url,
    errors_of,
    harness,
    json_error,
    provider_toml,
    text_of,
    text_reply,
)
from tests.support.stream_server import Reply, StreamServer

HELLO = "Hello! How can I help you today?"


async def test_flaky_server_is_retried_by_the_chain_alone(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    stream_server.add(json_error(503, "busy"), json_error(502, "bad gateway"), text_reply())
    h = await harness(tmp_path, provider_toml("a", stream_server.url))
    try:
        events = await h.ask()
        assert text_of(events) == HELLO
        assert not errors_of(events)
        # max_retries = 2 in config: 3 requests in all, so the adapter retried nothing itself
        assert len(stream_server.requests) == 3
        assert len(h.sleeps) == 2 and all(0.5 <= s <= 1.5 * 2 for s in h.sleeps)
        calls = await h.calls()
        assert [(c["status"], c["retry"], c["http_status"]) for c in calls] == [
            ("error", 0, 503),
            ("error", 1, 502),
            ("ok", 2, None),
        ]
        assert calls[0]["error_class"] == "server_error"
        assert calls[2]["ttft_ms"] is not None and calls[2]["ttft_ms"] <= calls[2]["duration_ms"]
    finally:
        await h.aclose()


async def test_dead_primary_falls_back_and_both_calls_are_logged(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    stream_server.add(text_reply())
    dead = dead_url()
    text = provider_toml("a", dead, 'fallback = ["b/m2"]') + provider_toml("b", stream_server.url)
    h = await harness(tmp_path, text)
    try:
        events = await h.ask()
        assert text_of(events) == HELLO
        assert stream_server.requests[0].json()["model"] == "m2"
        calls = await h.calls()
        assert [(c["provider"], c["model"], c["status"], c["fallback_step"]) for c in calls] == [
            ("a", "m1", "error", 0),
            ("b", "m2", "ok", 1),
        ]
        assert calls[0]["error_class"] == "connect"
        assert calls[0]["endpoint"] == dead + "/v1"
        answered = [n for n in h.notices if n.kind == "answered"]
        assert [(n.ref, n.requested, n.step) for n in answered] == [("b/m2", "a/m1", 1)]
        assert any(n.kind == "fallback" and "trying b/m2" in n.text for n in h.notices)
        assert h.sleeps == []  # a dead primary with a next entry costs no backoff
    finally:
        await h.aclose()


async def test_global_fallback_is_tried_after_the_providers_own(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    down = StreamServer([json_error(529, "Overloaded")])
    down.start()
    stream_server.add(text_reply())
    try:
        text = (
            'fallback = ["c/m3"]\n'
            + provider_toml("a", dead_url(), 'fallback = ["b/m2"]')
            + provider_toml("b", down.url)
            + provider_toml("c", stream_server.url)
        )
        h = await harness(tmp_path, text)
        try:
            events = await h.ask()
            assert text_of(events) == HELLO
            calls = await h.calls()
            assert [(c["provider"], c["error_class"]) for c in calls] == [
                ("a", "connect"),
                ("b", "overloaded"),
                ("c", None),
            ]
            assert len(down.requests) == 1  # 529 with a next entry: no retry there
        finally:
            await h.aclose()
    finally:
        down.stop()


async def test_retry_after_is_honoured_on_the_last_entry(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    stream_server.add(json_error(429, "slow down", {"retry-after": "3"}), text_reply())
    h = await harness(tmp_path, provider_toml("a", stream_server.url))
    try:
        events = await h.ask()
        assert text_of(events) == HELLO
        assert h.sleeps == [3.0]
        assert any(n.kind == "retry_wait" and n.seconds == 3.0 for n in h.notices)
    finally:
        await h.aclose()


async def test_retry_after_beyond_a_minute_is_not_waited_for(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    stream_server.add(json_error(429, "quota", {"retry-after": "600"}), text_reply())
    h = await harness(tmp_path, provider_toml("a", stream_server.url))
    try:
        events = await h.ask()
        (error,) = errors_of(events)
        assert error.status == 429 and "600" in (error.hint or "")
        assert h.sleeps == [] and len(stream_server.requests) == 1
    finally:
        await h.aclose()


async def test_context_length_moves_on_but_other_400s_do_not(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    small = StreamServer(
        [
            json_error(400, "This model's maximum context length is 8192 tokens"),
            json_error(400, "unknown parameter: frobnicate"),
        ]
    )
    small.start()
    stream_server.add(text_reply())
    try:
        text = provider_toml("a", small.url, 'fallback = ["b/big"]') + provider_toml(
            "b", stream_server.url
        )
        h = await harness(tmp_path, text)
        try:
            assert text_of(await h.ask()) == HELLO
            events = await h.ask()
            (error,) = errors_of(events)
            assert error.status == 400 and "frobnicate" in error.message
            assert len(stream_server.requests) == 1  # the bad request never reached b
            classes = [c["error_class"] for c in await h.calls()]
            assert classes == ["context_length", None, "bad_request"]
        finally:
            await h.aclose()
    finally:
        small.stop()


async def test_auth_errors_do_not_fall_back_and_keep_the_key_out(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    bad = StreamServer([json_error(401, f"Incorrect API key provided: {SECRET}")])
    bad.start()
    stream_server.add(text_reply())
    try:
        text = provider_toml("a", bad.url, 'fallback = ["b/m2"]') + provider_toml(
            "b", stream_server.url
        )
        h = await harness(tmp_path, text)
        try:
            (error,) = errors_of(await h.ask())
            assert error.status == 401 and SECRET not in error.message
            assert stream_server.requests == []
            (call,) = await h.calls()
            assert call["error_class"] == "auth" and SECRET not in (call["error"] or "")
        finally:
            await h.aclose()
    finally:
        bad.stop()


async def test_after_content_a_cut_ends_the_turn_with_the_text_kept(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    body = text_reply().body
    fallback = StreamServer([text_reply()])
    fallback.start()
    stream_server.add(Reply(body=body, cut_after=body.index(b" How")))
    try:
        text = provider_toml("a", stream_server.url, 'fallback = ["b/m2"]') + provider_toml(
            "b", fallback.url
        )
        h = await harness(tmp_path, text)
        try:
            events = await h.ask()
            assert isinstance(events[0], TextDelta)
            assert text_of(events).startswith("Hello")
            assert len(errors_of(events)) == 1
            assert fallback.requests == []
            (call,) = await h.calls()
            assert call["status"] == "error" and call["error_class"] == "stream_cut"
            assert call["ttft_ms"] is not None
        finally:
            await h.aclose()
    finally:
        fallback.stop()


async def test_every_entry_failing_is_one_error_listing_each(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    stream_server.add(json_error(500, "kaput"))
    text = provider_toml("a", dead_url(), 'fallback = ["b/m2"]') + provider_toml(
        "b", stream_server.url, "max_retries = 1"
    ).replace("max_retries = 2\n", "")
    h = await harness(tmp_path, text)
    try:
        (error,) = errors_of(await h.ask())
        assert error.message.startswith("all 2 models of the chain for a/m1 failed")
        assert "[1] a/m1: a: could not connect" in error.message
        assert "[2] b/m2: b: HTTP 500" in error.message and "kaput" in error.message
        assert len(stream_server.requests) == 2  # the last entry spent its one retry
        assert any(n.kind == "exhausted" for n in h.notices)
    finally:
        await h.aclose()


async def test_a_hung_primary_is_left_after_first_token_timeout(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    import time

    hung = StreamServer([Reply(body=b"", hang=True)])
    hung.start()
    stream_server.add(text_reply())
    try:
        text = provider_toml(
            "a", hung.url, 'fallback = ["b/m2"]\nfirst_token_timeout_s = 0.3'
        ).replace("timeout = 5", "timeout = 30") + provider_toml("b", stream_server.url)
        h = await harness(tmp_path, text)
        try:
            start = time.monotonic()
            events = await h.ask()
            elapsed = time.monotonic() - start
            assert text_of(events) == HELLO
            assert elapsed < 15  # far below the 30 s read timeout it would otherwise wait
            calls = await h.calls()
            assert [(c["provider"], c["status"], c["error_class"]) for c in calls] == [
                ("a", "error", "timeout"),
                ("b", "ok", None),
            ]
            assert "no first token" in calls[0]["error"]
        finally:
            await h.aclose()
    finally:
        hung.stop()


async def test_a_cut_before_any_content_is_retried(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    stream_server.add(Reply(body=text_reply().body, cut_after=0), text_reply())
    h = await harness(tmp_path, provider_toml("a", stream_server.url))
    try:
        events = await h.ask()
        assert text_of(events) == HELLO and not errors_of(events)
        calls = await h.calls()
        assert [(c["status"], c["error_class"], c["retry"]) for c in calls] == [
            ("error", "stream_cut", 0),
            ("ok", None, 1),
        ]
    finally:
        await h.aclose()
