"""The proxy's browser and size guards, against a real `opencode proxy` subprocess: a web page
cannot drive it (Origin, Host / DNS rebinding, a "simple" text/plain POST), and a body over
``[proxy] max_body_bytes`` is refused with 413 while it is being read, never buffered whole."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.proxy.conftest import Proxy, sse, start_proxy, write_project
from tests.support.stream_server import StreamServer

BODY = {"model": "mock/test-model", "messages": [{"role": "user", "content": "hi"}]}


def test_cross_site_text_plain_post_is_refused_before_the_provider(
    proxy: Proxy, upstream: StreamServer
) -> None:
    upstream.add(sse("openai_text.sse"))
    port = urlsplit(proxy.url).port
    reply = httpx.post(
        proxy.url + "/v1/chat/completions",
        content=json.dumps(BODY).encode(),
        headers={
            "content-type": "text/plain",
            "origin": "http://evil.example",
            "host": f"127.0.0.1:{port}",
        },
    )
    assert reply.status_code == 403
    assert reply.json()["error"]["type"] == "permission_error"
    assert "evil.example" in reply.json()["error"]["message"]
    # The same page-made request without an Origin (a no-cors fetch still sends one; this
    # is the text/plain rule alone) is refused too.
    plain = httpx.post(
        proxy.url + "/v1/chat/completions",
        content=json.dumps(BODY).encode(),
        headers={"content-type": "text/plain"},
    )
    assert plain.status_code == 415
    assert "application/json" in plain.json()["error"]["message"]
    # Anthropic's route answers in its own error shape.
    anth = httpx.post(
        proxy.url + "/v1/messages",
        json={"model": "mock/test-model", "max_tokens": 5, "messages": []},
        headers={"origin": "https://evil.example"},
    )
    assert anth.status_code == 403
    assert anth.json()["type"] == "error"
    assert anth.json()["error"]["type"] == "permission_error"
    assert upstream.requests == []


def test_a_foreign_host_is_refused_dns_rebinding(proxy: Proxy, upstream: StreamServer) -> None:
    upstream.add(sse("openai_text.sse"))
    port = urlsplit(proxy.url).port
    for host in (f"evil.example:{port}", "evil.example", "127.0.0.1:1", "localhost"):
        reply = httpx.post(proxy.url + "/v1/chat/completions", json=BODY, headers={"host": host})
        assert reply.status_code == 403, host
        assert "allowed_hosts" in reply.json()["error"]["message"]
    models = httpx.get(proxy.url + "/v1/models", headers={"host": "evil.example"})
    assert models.status_code == 403
    assert httpx.get(proxy.url + "/health", headers={"host": "evil.example"}).status_code == 403
    assert upstream.requests == []
    # Loopback names with the right port are the same proxy.
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"LOCALHOST:{port}"):
        ok = httpx.get(proxy.url + "/health", headers={"host": host})
        assert ok.status_code == 200, host


def test_configured_hosts_and_origins_are_let_through(
    tmp_path: Path, upstream: StreamServer
) -> None:
    write_project(
        tmp_path / "proj",
        upstream.url,
        '[proxy]\nallowed_hosts = ["devbox"]\nallowed_origins = ["http://localhost:3000"]\n',
    )
    running = start_proxy(tmp_path / "proj")
    try:
        upstream.add(sse("openai_text.sse"))
        reply = httpx.post(
            running.url + "/v1/chat/completions",
            json=BODY,
            headers={"host": "devbox:9999", "origin": "http://localhost:3000"},
        )
        assert reply.status_code == 200
        assert reply.json()["choices"][0]["message"]["content"]
        other = httpx.post(
            running.url + "/v1/chat/completions",
            json=BODY,
            headers={"origin": "http://localhost:3001"},
        )
        assert other.status_code == 403
        assert len(upstream.requests) == 1
    finally:
        running.stop()


def _counting(total_chunks: int, sent: list[int]) -> Iterator[bytes]:
    chunk = b"x" * (1024 * 1024)
    yield b'{"model": "mock/test-model", "messages": [], "pad": "'
    for _ in range(total_chunks):
        sent.append(len(chunk))
        yield chunk
    yield b'"}'


def test_an_oversized_body_gets_413_without_being_read_whole(
    tmp_path: Path, upstream: StreamServer
) -> None:
    write_project(tmp_path / "proj", upstream.url, "[proxy]\nmax_body_bytes = 1048576\n")
    running = start_proxy(tmp_path / "proj")
    try:
        # Chunked, no Content-Length: the limit is found while counting the stream.
        sent: list[int] = []
        reply = httpx.post(
            running.url + "/v1/chat/completions",
            content=_counting(512, sent),
            headers={"content-type": "application/json"},
            timeout=60,
        )
        assert reply.status_code == 413
        assert reply.json()["error"]["type"] == "request_too_large"
        assert "max_body_bytes" in reply.json()["error"]["message"]
        # 512 MiB offered; the proxy stopped reading long before (socket buffers hold a few MiB).
        assert sum(sent) < 512 * 1024 * 1024

        # A declared Content-Length over the limit is answered before any body byte is sent.
        host, port = urlsplit(running.url).hostname, urlsplit(running.url).port
        assert host is not None and port is not None
        with socket.create_connection((host, port), timeout=20) as sock:
            sock.sendall(
                b"POST /v1/messages HTTP/1.1\r\n"
                + f"Host: {host}:{port}\r\n".encode()
                + b"Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n"
            )
            received = b""
            while chunk := sock.recv(65536):  # the proxy closes after its answer
                received += chunk
            answer = received.decode("latin-1")
        assert answer.startswith("HTTP/1.1 413"), answer[:200]
        assert "request_too_large" in answer

        # Under the limit still works.
        upstream.add(sse("openai_text.sse"))
        ok = httpx.post(running.url + "/v1/chat/completions", json=BODY)
        assert ok.status_code == 200
        assert len(upstream.requests) == 1
    finally:
        running.stop()


def test_bad_guard_settings_are_clear_errors(tmp_path: Path, upstream: StreamServer) -> None:
    import subprocess
    import sys

    write_project(tmp_path / "proj", upstream.url, '[proxy]\nmax_body_bytes = "lots"\n')
    done = subprocess.run(
        [sys.executable, "-m", "opencode", "proxy", "--port", "0"],
        cwd=tmp_path / "proj",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "[proxy] max_body_bytes must be a positive number" in done.stderr
