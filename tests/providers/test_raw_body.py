"""Bulk reading of a streamed body (raw_body): the same bytes as httpx's own reader, for every
framing a loopback server produces, and a loud failure here if an httpx upgrade closes the path."""

from __future__ import annotations

import httpx
import pytest

from opencode.sessions.providers.raw_body import _raw_parts, body_pieces
from tests.support.stream_server import Reply, StreamServer

BODY = b"".join(b'data: {"n": %d, "text": "%s"}\n\n' % (i, b"x" * (i % 50)) for i in range(3000))


async def read_both(reply: Reply) -> tuple[bytes, bytes, bool]:
    """(bytes through body_pieces, bytes through aiter_bytes, whether the fast path applied)."""
    with StreamServer([reply]) as server:
        async with httpx.AsyncClient() as client:
            async with client.stream("GET", server.url) as response:
                fast = _raw_parts(response) is not None
                bulk = b"".join([p async for p in body_pieces(response, 5.0)])
            async with client.stream("GET", server.url) as response:
                plain = b"".join([p async for p in response.aiter_bytes()])
    return bulk, plain, fast


@pytest.mark.parametrize("chunk_size", [None, 1, 7, 4096, 1 << 20])
async def test_chunked_body_reads_the_same_bytes_in_bulk(chunk_size: int | None) -> None:
    bulk, plain, fast = await read_both(Reply(BODY, chunk_size=chunk_size))
    assert fast, "the bulk path no longer applies: check raw_body against this httpx/httpcore"
    assert bulk == plain == BODY


async def test_content_length_body_reads_the_same_bytes_in_bulk() -> None:
    bulk, plain, fast = await read_both(Reply(BODY, chunked=False))
    assert fast and bulk == plain == BODY


async def test_compressed_body_falls_back_to_httpx() -> None:
    reply = Reply(b"", headers={"content-type": "text/event-stream", "content-encoding": "gzip"})
    reply.chunked = False
    with StreamServer([reply]) as server:
        async with httpx.AsyncClient() as client:
            async with client.stream("GET", server.url) as response:
                assert _raw_parts(response) is None


@pytest.mark.parametrize("cut", [10, 1000, len(BODY) - 1, len(BODY)])
async def test_body_cut_mid_chunk_or_before_the_last_chunk_is_an_error(cut: int) -> None:
    with StreamServer([Reply(BODY, chunk_size=333, cut_after=cut)]) as server:
        async with httpx.AsyncClient() as client:
            async with client.stream("GET", server.url) as response:
                got = bytearray()
                with pytest.raises(httpx.RemoteProtocolError):
                    async for piece in body_pieces(response, 5.0):
                        got += piece
    assert bytes(got) == BODY[:cut]  # everything before the cut was delivered
