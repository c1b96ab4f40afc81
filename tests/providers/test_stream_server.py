"""The loopback server itself: real HTTP/1.1, chunked bodies, recording, cuts and hangs."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from tests.support.stream_server import Reply, StreamServer


def test_serves_replies_in_order_and_repeats_the_last() -> None:
    with StreamServer([Reply(b"one\n"), Reply(b"two\n")]) as server:
        assert server.url.startswith("http://127.0.0.1:")
        with httpx.Client() as client:
            bodies = [client.post(server.url + "/x", json={"n": i}).text for i in range(3)]
    assert bodies == ["one\n", "two\n", "two\n"]
    assert [r.json() for r in server.requests] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert server.requests[0].method == "POST" and server.requests[0].path == "/x"
    assert server.requests[0].headers["content-type"] == "application/json"


def test_body_is_chunked_on_the_wire_and_one_chunk_per_line() -> None:
    with StreamServer([Reply(b"a\nbb\nccc")]) as server:
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := sock.recv(4096):
            raw += chunk
        sock.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"HTTP/1.1 200 OK" in head and b"Transfer-Encoding: chunked" in head
    assert body == b"2\r\na\n\r\n3\r\nbb\n\r\n3\r\nccc\r\n0\r\n\r\n"


def test_status_headers_and_content_length_mode() -> None:
    reply = Reply(b'{"error":"x"}', status=429, headers={"retry-after": "3"}, chunked=False)
    with StreamServer([reply]) as server, httpx.Client() as client:
        response = client.get(server.url)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.headers["content-length"] == "13"
    assert response.json() == {"error": "x"}


def test_cut_after_closes_without_the_terminating_chunk() -> None:
    with StreamServer([Reply(b"0123456789", chunk_size=4, cut_after=6)]) as server:
        received = b""
        with httpx.Client() as client, client.stream("GET", server.url) as response:
            with pytest.raises(httpx.RemoteProtocolError):
                for piece in response.iter_raw():
                    received += piece
    assert received == b"012345"


def test_hang_sends_headers_then_nothing() -> None:
    with StreamServer([Reply(b"never", hang=True)]) as server:
        with httpx.Client(timeout=httpx.Timeout(0.3)) as client:
            with client.stream("GET", server.url) as response:
                assert response.status_code == 200
                started = time.monotonic()
                with pytest.raises(httpx.ReadTimeout):
                    response.read()
        assert time.monotonic() - started >= 0.25
    # stop() returned although a handler was hanging


def test_no_reply_configured_is_a_clear_500(stream_server: StreamServer) -> None:
    with httpx.Client() as client:
        response = client.get(stream_server.url)
    assert response.status_code == 500
    assert "no reply configured" in response.text
    stream_server.add(Reply(b"late\n"))
    with httpx.Client() as client:
        assert client.get(stream_server.url).text == "late\n"
