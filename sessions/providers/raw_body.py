"""A streamed HTTP/1.1 body read in bulk, for replies sent as very many tiny chunks.

Servers flush one HTTP chunk per token (or per SSE line). httpx hands those over one at a time
through h11, at roughly 20 µs of Python per chunk: for a reply of 600k chunks that alone costs
more than curl needs for the whole transfer. ``body_pieces`` instead reads the connection's
socket itself (httpcore's public ``network_stream`` extension) and undoes the chunked framing
over everything one socket read returned, so the cost is per read, not per chunk.

It needs the bytes h11 already buffered with the headers, which only the connection object
holds: that object is reached through private attributes of httpx and httpcore, read, never
set. When anything on that path differs (another httpx version, HTTP/2, a compressed body, a
proxy transport), ``body_pieces`` falls back to ``response.aiter_bytes()``: slower, never wrong.
The connection is never reused afterwards (h11 still expects the body, so httpcore closes it
when the response is closed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import h11
import httpcore
import httpx

READ_BYTES = 64 * 1024
SIZE_LINE_MAX = 1024  # a chunk-size line longer than this is not HTTP


def _raw_parts(response: httpx.Response) -> tuple[Any, bytes] | None:
    """(network stream, bytes already buffered) when the fast path applies, else None."""
    if response.http_version != "HTTP/1.1":
        return None
    if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
        return None
    network = response.extensions.get("network_stream")
    stream: Any = response.stream
    try:
        state = stream._stream._httpcore_stream._stream._connection._h11_state
    except AttributeError:
        return None
    if network is None or not isinstance(state, h11.Connection):
        return None
    if state.their_state is not h11.SEND_BODY:
        return None
    buffered, _closed = state.trailing_data
    return network, bytes(buffered)


def body_pieces(response: httpx.Response, timeout: float) -> AsyncIterator[bytes]:
    """The decoded body, in pieces as large as what has arrived."""
    parts = _raw_parts(response)
    if parts is None:
        return response.aiter_bytes()
    network, buffered = parts
    encoding = response.headers.get("transfer-encoding", "").lower()
    if "chunked" in encoding:
        return _chunked(network, buffered, timeout)
    length = response.headers.get("content-length")
    if length is not None and length.strip().isdigit():
        return _sized(network, buffered, timeout, int(length))
    return _sized(network, buffered, timeout, None)


async def _read(network: Any, read_timeout: float) -> bytes:
    try:
        data: bytes = await network.read(READ_BYTES, timeout=read_timeout)
    except httpcore.ReadTimeout as exc:
        raise httpx.ReadTimeout(str(exc) or "timed out") from exc
    except httpcore.ReadError as exc:
        raise httpx.ReadError(str(exc) or "read failed") from exc
    return data


def _cut(what: str) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(
        f"peer closed connection without sending complete message body: {what}"
    )


async def _sized(
    network: Any, buffered: bytes, read_timeout: float, length: int | None
) -> AsyncIterator[bytes]:
    left = length
    data = buffered
    while True:
        if data:
            if left is not None:
                data = data[:left]
                left -= len(data)
            yield data
        if left == 0:
            return
        data = await _read(network, read_timeout)
        if not data:
            if left is not None:
                raise _cut(f"received fewer bytes than Content-Length ({length})")
            return


async def _chunked(network: Any, buffered: bytes, read_timeout: float) -> AsyncIterator[bytes]:
    buf = bytearray(buffered)
    remaining = 0  # data bytes of the current chunk still to come
    crlf = False  # the CRLF after a chunk's data is still to come
    while True:
        pos = 0
        end = len(buf)
        out: list[bytes] = []
        while True:
            if remaining:
                take = min(remaining, end - pos)
                if take:
                    out.append(bytes(buf[pos : pos + take]))
                    pos += take
                    remaining -= take
                if remaining:
                    break
                crlf = True
            if crlf:
                if end - pos < 2:
                    break
                if buf[pos : pos + 2] != b"\r\n":
                    raise httpx.RemoteProtocolError("malformed chunked body: no CRLF after data")
                pos += 2
                crlf = False
            newline = buf.find(b"\n", pos)
            if newline < 0:
                if end - pos > SIZE_LINE_MAX:
                    raise httpx.RemoteProtocolError("malformed chunked body: no chunk size")
                break
            field = bytes(buf[pos:newline]).split(b";", 1)[0].strip()
            try:
                size = int(field, 16)
            except ValueError:
                raise httpx.RemoteProtocolError(
                    f"malformed chunked body: chunk size {field[:40]!r}"
                ) from None
            pos = newline + 1
            if size == 0:  # the last chunk; trailers, if any, carry nothing we use
                if out:
                    yield b"".join(out)
                return
            remaining = size
        if out:
            yield out[0] if len(out) == 1 else b"".join(out)
        del buf[:pos]
        data = await _read(network, read_timeout)
        if not data:
            raise _cut("incomplete chunked read")
        buf += data
