"""A real HTTP/1.1 server on 127.0.0.1 that replays recorded provider bytes.

Each request gets the next ``Reply`` (the last one repeats). Bodies go out with
``Transfer-Encoding: chunked``, one flushed chunk at a time, optionally slowed down, cut off
mid-body (socket closed without the terminating chunk), or withheld entirely (``hang``) so a
client's read timeout fires. It runs in a background thread, so it serves async tests in the
same process and ``opencode run`` subprocesses alike.

A model-list ``GET`` (``…/models``, Ollama's ``/api/tags``) is answered apart from the queue:
from ``get_replies`` when a test queued some (``add_get``), else a listing of ``models`` in the
shape the path implies. It is recorded in ``gets``, not ``requests``: the TUI's welcome block
asks the endpoint for its models, and that must neither take a reply queued for a turn nor
change what a test counts in ``requests``.
"""

from __future__ import annotations

import json
import re
import select
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

DEFAULT_MODELS = ("test-model", "other-model")  # the models the tests' configs name


@dataclass
class Reply:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "text/event-stream"})
    chunk_size: int | None = None  # None: one chunk per line
    delay: float = 0.0  # seconds between chunks
    first_byte_delay: float = 0.0  # seconds between the headers and the body (model think time)
    cut_after: int | None = None  # close the socket after this many body bytes
    hang: bool = False  # send headers, then never the body
    chunked: bool = True  # False: send Content-Length and the body in one write


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


_LINE = re.compile(rb"[^\n]*\n|[^\n]+\Z")


def _chunks(body: bytes, size: int | None) -> Iterator[bytes]:
    # A generator, so the server holds no second copy of a large body.
    if size is None:
        for match in _LINE.finditer(body):
            yield match.group(0)
        return
    for start in range(0, len(body), size):
        yield body[start : start + size]


def is_model_list(path: str) -> bool:
    """Whether ``path`` asks for a model list (OpenAI/Anthropic ``…/models``, Ollama tags)."""
    route = urlsplit(path).path.rstrip("/")
    return route.endswith("/models") or route.endswith("/api/tags")


def model_list_body(path: str, models: list[str]) -> bytes:
    """``models`` as the endpoint at ``path`` lists them (Ollama or OpenAI/Anthropic shape)."""
    if urlsplit(path).path.rstrip("/").endswith("/api/tags"):
        return json.dumps({"models": [{"name": m, "model": m} for m in models]}).encode()
    return json.dumps(
        {"object": "list", "data": [{"id": m, "object": "model"} for m in models]}
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        owner = self.server.owner
        request = RecordedRequest(
            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
        )
        if self.command == "GET" and is_model_list(self.path):
            reply = owner._model_list_reply(request)
        else:
            owner._record(request)
            reply = owner._next_reply()
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def _send(self, reply: Reply) -> None:
        stop = self.server.owner._stopping
        try:
            phrase = HTTPStatus(reply.status).phrase
        except ValueError:  # e.g. Anthropic's 529
            phrase = "Overloaded" if reply.status == 529 else "Unknown"
        self.send_response_only(reply.status, phrase)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.flush()
        if reply.first_byte_delay and stop.wait(reply.first_byte_delay):
            self._cut()
            return
        if reply.hang:
            self._wait_for_peer_or_stop()
            self.close_connection = True
            return
        if not reply.chunked:
            self.wfile.write(reply.body)
            self.wfile.flush()
            self.server.owner._completed()
            return
        sent = 0
        for chunk in _chunks(reply.body, reply.chunk_size):
            if sent and reply.delay and stop.wait(reply.delay):
                self._cut()
                return
            if reply.cut_after is not None and sent + len(chunk) > reply.cut_after:
                chunk = chunk[: reply.cut_after - sent]
                if chunk:
                    self._write_chunk(chunk)
                self._cut()
                return
            self._write_chunk(chunk)
            sent += len(chunk)
        if reply.cut_after is not None:  # cut right at the end: no terminating chunk
            self._cut()
            return
        self.server.owner._completed()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_chunk(self, chunk: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.flush()

    def _cut(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _wait_for_peer_or_stop(self) -> None:
        stop = self.server.owner._stopping
        while not stop.is_set():
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return  # the client went away
                except OSError:
                    return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 resets bursts of connections (50 proxy streams).
    request_queue_size = 128
    owner: StreamServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hang up mid-reply on purpose (cancelled streams, timeouts): not an error.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class StreamServer:
    """Serve ``replies`` in order, one per request; the last one repeats."""

    def __init__(self, replies: list[Reply] | None = None, models: list[str] | None = None) -> None:
        self._replies: list[Reply] = list(replies or [])
        self._served = 0
        # what a model-list GET gets: the listing of ``models``, or ``get_replies`` in order
        # (the last one repeats) when a test queued some
        self.models: list[str] = list(DEFAULT_MODELS if models is None else models)
        self.get_replies: list[Reply] = []
        self._gets_served = 0
        self.gets: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[RecordedRequest] = []
        # time.monotonic() when the last byte of each body was written (cut/hung ones excluded)
        self.completed_at: list[float] = []
        self.url = ""

    def add(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def add_get(self, *replies: Reply) -> None:
        """Queue replies for model-list GETs (in order, the last repeats) instead of ``models``."""
        with self._lock:
            self.get_replies.extend(replies)

    def _model_list_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.gets.append(request)
            if self.get_replies:
                reply = self.get_replies[min(self._gets_served, len(self.get_replies) - 1)]
                self._gets_served += 1
                return reply
            body = model_list_body(request.path, self.models)
        return Reply(body=body, headers={"content-type": "application/json"}, chunked=False)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _completed(self) -> None:
        with self._lock:
            self.completed_at.append(time.monotonic())

    def _next_reply(self) -> Reply:
        with self._lock:
            if not self._replies:
                return Reply(
                    body=b'{"error":{"message":"StreamServer has no reply configured"}}',
                    status=500,
                    headers={"content-type": "application/json"},
                    chunked=False,
                )
            reply = self._replies[min(self._served, len(self._replies) - 1)]
            self._served += 1
            return reply

    @property
    def port(self) -> int:
        assert self._server is not None, "StreamServer not started"
        return int(self._server.server_address[1])

    def start(self) -> None:
        if self._server is not None:
            return
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        self._server = server
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"StreamServer:{self.port}",
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> StreamServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
