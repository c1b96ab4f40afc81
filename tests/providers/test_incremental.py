"""Streaming is incremental: events arrive while the server is still sending, and memory stays
flat in the size of the reply."""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc

import pytest

from opencode.sessions.events import TextDelta
from opencode.sessions.providers.base import ApiKind, Provider
from opencode.sessions.providers.factory import make_provider
from tests.providers.helpers import config, request
from tests.support.stream_server import Reply, StreamServer


def openai_body(pieces: list[str]) -> bytes:
    lines = [
        b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": p}}]}).encode()
        for p in pieces
    ]
    finish = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    lines.append(b"data: " + json.dumps(finish).encode())
    return b"\n\n".join(lines) + b"\n\ndata: [DONE]\n\n"


def anthropic_body(pieces: list[str]) -> bytes:
    def ev(kind: str, data: object) -> bytes:
        return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()

    out = ev("message_start", {"type": "message_start", "message": {"usage": {}}})
    out += ev(
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    )
    for p in pieces:
        out += ev(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
        )
    out += ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}})
    return out + ev("message_stop", {"type": "message_stop"})


def ollama_body(pieces: list[str]) -> bytes:
    lines = [
        json.dumps({"message": {"role": "assistant", "content": p}, "done": False}) for p in pieces
    ]
    lines.append(
        json.dumps(
            {"message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"}
        )
    )
    return ("\n".join(lines) + "\n").encode()


BODIES = {"openai": openai_body, "anthropic": anthropic_body, "ollama": ollama_body}


def _wait_until_completed(server: StreamServer, limit: float) -> None:
    """``completed_at`` is appended by the server's own thread: poll it from a thread too."""
    deadline = time.monotonic() + limit
    while not server.completed_at and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.parametrize("api", ["openai", "anthropic", "ollama"])
async def test_first_text_arrives_before_the_server_has_sent_the_rest(api: ApiKind) -> None:
    pieces = [f"word{i} " for i in range(40)]
    body = BODIES[api](pieces)
    lines = body.count(b"\n")
    delay = 0.6 / lines  # the whole body takes about 0.6 s to send
    with StreamServer([Reply(body, delay=delay)]) as server:
        provider = make_provider(config(api, server.url))
        first_at: float | None = None
        texts: list[str] = []
        async for event in provider.stream(request()):
            if isinstance(event, TextDelta):
                first_at = first_at or time.monotonic()
                texts.append(event.text)
        await provider.aclose()
        # The server thread records the time just after its last write; the client can read
        # that write first, so give the thread a moment to record it.
        await asyncio.to_thread(_wait_until_completed, server, 5.0)
        assert server.completed_at, "the server finished the body"
        finished_at = server.completed_at[0]
    assert first_at is not None and "".join(texts) == "".join(pieces)
    assert finished_at - first_at > 0.3  # most of the body was still to come


async def _peak_bytes(provider: Provider, server: StreamServer, pieces: int) -> tuple[int, int]:
    body = openai_body([f"{i:06d} " + "x" * 193 for i in range(pieces)])
    # Paced like a real model, so what is measured is the adapter, not bytes that a loopback
    # peer can push into the client's socket buffers faster than anything could read them.
    server.add(Reply(body, chunk_size=8192, delay=0.002))
    tracemalloc.start()
    try:
        count = 0
        async for event in provider.stream(request()):
            if isinstance(event, TextDelta):  # deltas read together arrive merged
                count += event.text.count("x" * 193)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == pieces
    return peak, len(body)


async def test_memory_stays_flat_in_the_size_of_the_reply(monkeypatch: pytest.MonkeyPatch) -> None:
    # On a loaded machine the reader runs ahead of a slow consumer by up to QUEUE_BYTES and
    # merges what waits into deltas of up to COALESCE_CHARS: both are constants, not the size
    # of the reply. Set below both bodies here, so the peak measured is the adapter's own.
    from opencode.sessions.providers import stream_reader

    monkeypatch.setattr(stream_reader, "QUEUE_BYTES", 32 * 1024)
    monkeypatch.setattr(stream_reader, "COALESCE_CHARS", 4 * 1024)
    with StreamServer() as server:
        provider = make_provider(config("openai", server.url))
        try:
            await _peak_bytes(provider, server, 10)  # warm-up: first-use imports don't count
            small_peak, small_body = await _peak_bytes(provider, server, 500)
            large_peak, large_body = await _peak_bytes(provider, server, 30000)
        finally:
            await provider.aclose()
    # 60x the bytes, a peak bounded by the reader's constants (not a ratio to the small
    # reply's peak: how far the reader runs ahead, within its bounds, depends on machine load).
    assert large_body > 50 * small_body
    print(f"peak {small_peak} B for {small_body} B, {large_peak} B for {large_body} B")
    assert large_peak < 2 * 1024 * 1024, (small_peak, large_peak)
    assert large_peak < large_body / 4, (large_peak, large_body)
