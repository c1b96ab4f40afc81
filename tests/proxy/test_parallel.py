"""50 streams at once through a real `opencode proxy`: every byte of every reply arrives, in
order, on the stream it belongs to, and the proxy ends with no stream left open."""

from __future__ import annotations

import asyncio
import json

import httpx

from tests.proxy.conftest import Proxy
from tests.support.stream_server import Reply, StreamServer

STREAMS = 50
PIECES = [f"tok{n:04d} " for n in range(1500)]


def reply_body() -> bytes:
    chunks = [{"choices": [{"index": 0, "delta": {"content": p}}]} for p in PIECES]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + (
        b"data: [DONE]\n\n"
    )


async def one_stream(client: httpx.AsyncClient, url: str, n: int) -> tuple[str, bool]:
    body = {
        "model": "mock/test-model",
        "stream": True,
        "messages": [{"role": "user", "content": f"stream {n}"}],
    }
    text: list[str] = []
    done = False
    async with client.stream("POST", url + "/v1/chat/completions", json=body) as reply:
        assert reply.status_code == 200
        async for line in reply.aiter_lines():
            if line == "data: [DONE]":
                done = True
            elif line.startswith("data: "):
                for choice in json.loads(line[6:]).get("choices", []):
                    text.append(choice["delta"].get("content") or "")
    return "".join(text), done


def test_fifty_parallel_streams_lose_nothing(proxy: Proxy, upstream: StreamServer) -> None:
    upstream.add(
        Reply(reply_body(), headers={"content-type": "text/event-stream"}, chunk_size=4096)
    )

    async def run_all() -> list[tuple[str, bool]]:
        limits = httpx.Limits(max_connections=STREAMS)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            return await asyncio.gather(*(one_stream(client, proxy.url, n) for n in range(STREAMS)))

    results = asyncio.run(run_all())
    expected = "".join(PIECES)
    assert len(results) == STREAMS
    assert all(done for _, done in results)
    assert [text == expected for text, _ in results] == [True] * STREAMS
    assert len(upstream.requests) == STREAMS
    prompts = sorted(r.json()["messages"][-1]["content"] for r in upstream.requests)
    assert prompts == sorted(f"stream {n}" for n in range(STREAMS))
    health = httpx.get(proxy.url + "/health").json()
    assert health["active_streams"] == 0 and health["requests"] == STREAMS
