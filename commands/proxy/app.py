"""``opencode proxy``: an OpenAI- and Anthropic-compatible endpoint over opencode's providers.

Routes: ``POST /v1/chat/completions`` (OpenAI, streaming and not), ``POST /v1/messages``
(Anthropic, streaming and not), ``GET /v1/models``, ``GET /health``. Each request is parsed into
the neutral ``ChatRequest``, sent to the upstream its model names (``PROVIDER/MODEL`` from
opencode.toml, else the ``--upstream``), and the reply's events go through the same correction
rules as a chat session before they are written back in the client's wire format.

The database is optional at run time: if it is missing, locked or damaged the proxy forwards
without rules, says so once on stderr and in ``/health``, and never drops a request for it.
A client that goes away mid-stream closes the upstream stream at once (no orphaned generation).

Browser and size guards (``_refusal``), checked before anything reaches a provider: a web page
must not be able to spend the user's keys through a proxy on loopback. So a request whose
``Host`` is not the address the proxy listens on (or ``localhost``/``127.0.0.1``/``[::1]`` with
its port, or a ``[proxy] allowed_hosts`` entry) is refused (DNS rebinding), so is any request
carrying an ``Origin`` not in ``[proxy] allowed_origins`` (browsers send it on cross-site
requests; SDKs and curl do not), a body over ``[proxy] max_body_bytes`` (counted while it is
read, so an endless body is cut off, never buffered), and a POST whose ``Content-Type`` is not
``application/json`` (a "simple" cross-site form/text POST needs no preflight).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import sys
import time
from collections.abc import AsyncGenerator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from opencode.commands.proxy import wire_anthropic, wire_openai
from opencode.commands.proxy.errors import BadRequest, UpstreamFailed
from opencode.sessions.config import Config, ConfigError
from opencode.sessions.corrections.source import RuleSource
from opencode.sessions.corrections.stream import corrected
from opencode.sessions.events import ProviderError, ProviderEvent
from opencode.sessions.providers.base import ChatRequest, Provider, ProviderConfig
from opencode.sessions.store.db import Store

ProviderFactory = Callable[[ProviderConfig], Provider]

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def _warn(text: str) -> None:
    print(f"opencode proxy: {text}", file=sys.stderr)


@dataclass(slots=True)
class Upstream:
    provider: ProviderConfig
    model: str

    @property
    def ref(self) -> str:
        return f"{self.provider.name}/{self.model}"


@dataclass
class ProxyState:
    config: Config
    store: Store | None
    upstream: str | None = None  # PROVIDER or PROVIDER/MODEL for names that do not resolve
    token: str | None = None
    provider_factory: ProviderFactory | None = None
    started: float = field(default_factory=time.time)
    requests: int = 0
    active: int = 0
    rules: RuleSource = field(init=False)
    # The address the server listens on (set once bound); None skips the Host check, which
    # only an embedding that is not on a socket (an in-process test client) may rely on.
    listen: tuple[str, int] | None = None
    allowed_hosts: frozenset[str] = frozenset()  # extra Host values: NAME or NAME:PORT, "*"
    allowed_origins: frozenset[str] = frozenset()  # Origin values a browser may send, "*"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    _providers: dict[str, Provider] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.rules = RuleSource(self.store, warn=_warn)

    # ------------------------------------------------------------------ upstreams

    def resolve(self, model: str) -> Upstream:
        """The model a client named -> the upstream that serves it."""
        if "/" in model:
            name = model.partition("/")[0]
            if name in self.config.providers:
                provider, model_name = self.config.resolve_model(model)
                return Upstream(provider, model_name)
        if self.upstream:
            name, sep, fixed = self.upstream.partition("/")
            chosen = self.config.providers.get(name)
            if chosen is None:
                raise ConfigError(f"--upstream names an unknown provider {name!r}")
            return Upstream(chosen, fixed if sep and fixed else model)
        provider, model_name = self.config.resolve_model(self.config.model)
        return Upstream(provider, model_name)

    def provider(self, config: ProviderConfig) -> Provider:
        provider = self._providers.get(config.name)
        if provider is None:
            if self.provider_factory is not None:
                provider = self.provider_factory(config)
            else:
                from opencode.sessions.providers.factory import make_provider

                provider = make_provider(config)
            self._providers[config.name] = provider
        return provider

    def background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()
        if self.store is not None:
            await self.store.close()

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "database": "ok" if self.store is not None else "unavailable",
            "rules": "unavailable" if self.rules.error or self.store is None else "loaded",
            "rules_error": self.rules.error,
            "default_model": self.config.model,
            "upstream": self.upstream,
            "requests": self.requests,
            "active_streams": self.active,
            "corrections_applied": self.rules.applied,
            "uptime_s": round(time.time() - self.started, 1),
        }


# ---------------------------------------------------------------------------- request handling


class _Refused(Exception):
    def __init__(self, status: int, message: str, kind: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


def _host_name(host: str) -> str:
    """A bound address as it appears in a Host header (IPv6 in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _host_allowed(state: ProxyState, host_header: str) -> bool:
    if state.listen is None or "*" in state.allowed_hosts:
        return True
    host = host_header.strip().lower()
    bound, port = state.listen
    names = {_host_name(bound.lower()), *LOOPBACK_NAMES}
    allowed = {f"{name}:{port}" for name in names}
    if port == 80:
        allowed |= names
    if host in allowed:
        return True
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return host in state.allowed_hosts or name in state.allowed_hosts


def _refusal(state: ProxyState, request: Request) -> _Refused | None:
    """Why this request may not reach the proxy's routes (browser / rebinding guards)."""
    host = request.headers.get("host", "")
    if not _host_allowed(state, host):
        return _Refused(
            403,
            f"Host {host!r} is not the address this proxy listens on; a client that reaches it "
            "under another name must be listed in [proxy] allowed_hosts",
            "permission_error",
        )
    origin = request.headers.get("origin")
    if (
        origin is not None
        and origin not in state.allowed_origins
        and ("*" not in state.allowed_origins)
    ):
        return _Refused(
            403,
            f"requests from a web page (Origin {origin!r}) are refused; list the origin in "
            "[proxy] allowed_origins to allow it",
            "permission_error",
        )
    return None


def _not_json_typed(request: Request) -> _Refused | None:
    """A POST must say ``Content-Type: application/json``: a cross-site ``text/plain`` or form
    POST needs no CORS preflight, a JSON one does. Checked after the body parsed, so a body
    that is not JSON at all still gets the more useful "not valid JSON" answer."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind == "application/json":
        return None
    return _Refused(
        415,
        f"the body must be sent as Content-Type: application/json, not {kind or 'none'!r}",
        "invalid_request_error",
    )


async def _read_body(state: ProxyState, request: Request) -> bytes:
    """The request body, refused with 413 as soon as it passes ``max_body_bytes``."""
    limit = state.max_body_bytes
    too_big = _Refused(
        413,
        f"the request body is larger than {limit} bytes ([proxy] max_body_bytes)",
        "request_too_large",
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def _refused_response(refused: _Refused, wire: str) -> Response:
    if wire == "openai":
        body = wire_openai.error_body(str(refused), refused.kind)
    else:
        body = wire_anthropic.error_body(str(refused), refused.kind)
    # The connection may still carry an unread body: close it rather than read it.
    headers = {"connection": "close"} if refused.status == 413 else None
    return JSONResponse(body, status_code=refused.status, headers=headers)


def _authorized(state: ProxyState, request: Request) -> bool:
    if not state.token:
        return True
    given = request.headers.get("x-api-key") or ""
    auth = request.headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        given = auth[7:].strip()
    return hmac.compare_digest(given.encode(), state.token.encode())


async def _first(
    events: AsyncGenerator[ProviderEvent, None],
) -> tuple[ProviderEvent | None, AsyncGenerator[ProviderEvent, None]]:
    """Read the first event (an upstream failure before any byte becomes an HTTP error)."""
    try:
        first = await anext(events)
    except StopAsyncIteration:
        return None, events
    return first, events


async def _chain(
    first: ProviderEvent | None,
    rest: AsyncGenerator[ProviderEvent, None],
    on_end: Callable[[], Any],
) -> AsyncGenerator[ProviderEvent, None]:
    try:
        if first is not None:
            yield first
        async for event in rest:
            yield event
    finally:
        await rest.aclose()  # a client that went away cancels the upstream here
        await on_end()


def _with_passthrough(
    request: ChatRequest, upstream: Upstream, passthrough: dict[str, Any], wire: str
) -> ChatRequest:
    request.model = upstream.model
    if passthrough and upstream.provider.api == wire:
        request.extra.update(passthrough)
    return request


async def _serve(
    state: ProxyState,
    request: Request,
    wire: str,
) -> Response:
    proto = wire_openai if wire == "openai" else wire_anthropic
    refused = _refusal(state, request)
    if refused is not None:
        return _refused_response(refused, wire)
    if not _authorized(state, request):
        return JSONResponse(
            proto.error_body("invalid proxy token", "authentication_error"), status_code=401
        )
    try:
        body = json.loads(await _read_body(state, request))
    except _Refused as exc:
        return _refused_response(exc, wire)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return JSONResponse(proto.error_body(f"the body is not valid JSON: {exc}"), 400)
    refused = _not_json_typed(request)
    if refused is not None:
        return _refused_response(refused, wire)
    try:
        parsed = proto.parse_request(body)
        upstream = state.resolve(parsed.model)
    except (BadRequest, ConfigError) as exc:
        return JSONResponse(proto.error_body(str(exc)), status_code=400)
    chat = _with_passthrough(parsed.request, upstream, parsed.passthrough, wire)
    state.requests += 1
    request_id = f"req_{os.urandom(8).hex()}"
    corrector = await state.rules.corrector(upstream.ref, {t.name for t in chat.tools})
    provider = state.provider(upstream.provider)
    events = corrected(provider.stream(chat), corrector)
    first, rest = await _first(events)
    if isinstance(first, ProviderError):
        await rest.aclose()
        failed = UpstreamFailed(first)
        kind = "upstream_error" if wire == "openai" else wire_anthropic.error_kind(failed.status)
        return JSONResponse(proto.error_body(first.message, kind), status_code=failed.status)
    state.active += 1
    ended = False

    async def on_end() -> None:
        # Runs once, from whichever comes first: the stream's own end or the caller's finally.
        nonlocal ended
        if ended:
            return
        ended = True
        state.active -= 1
        # Its own task: a client that disconnected cancels this request's scope, and the
        # audit of what was corrected must still be written.
        state.background(
            state.rules.record(corrector, model_ref=upstream.ref, request_id=request_id)
        )

    stream = _chain(first, rest, on_end)
    headers = {"x-opencode-upstream": upstream.ref, "x-request-id": request_id}
    if not parsed.stream:
        try:
            if wire == "openai":
                result = await wire_openai.completion(stream, upstream.ref)
            else:
                result = await wire_anthropic.message(stream, upstream.ref)
        except UpstreamFailed as exc:
            kind = "upstream_error" if wire == "openai" else wire_anthropic.error_kind(exc.status)
            return JSONResponse(proto.error_body(str(exc), kind), status_code=exc.status)
        finally:
            # Whatever ended the body (a failure mid-way included): close the upstream now and
            # count the request done, not when the generator happens to be collected.
            await stream.aclose()
            await rest.aclose()
            await on_end()
        return JSONResponse(result, headers=headers)
    if wire == "openai":
        include_usage = isinstance(parsed, wire_openai.ParsedRequest) and parsed.include_usage
        body_iter = wire_openai.stream_chunks(stream, upstream.ref, include_usage)
    else:
        body_iter = wire_anthropic.stream_events(stream, upstream.ref)
    return _ClosingStream(
        body_iter,
        media_type="text/event-stream",
        headers={**headers, "cache-control": "no-cache"},
    )


class _ClosingStream(StreamingResponse):
    """Closes its body when the response ends for any reason, so a client that disconnects
    closes the upstream stream at once instead of when the generator is collected."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()


def build_app(state: ProxyState) -> Starlette:
    async def chat_completions(request: Request) -> Response:
        return await _serve(state, request, "openai")

    async def messages(request: Request) -> Response:
        return await _serve(state, request, "anthropic")

    async def models(request: Request) -> Response:
        refused = _refusal(state, request)
        if refused is not None:
            return _refused_response(refused, "openai")
        if not _authorized(state, request):
            return JSONResponse(wire_openai.error_body("invalid proxy token"), status_code=401)
        data = [
            {"id": f"{name}/{model}", "object": "model", "created": 0, "owned_by": name}
            for name, provider in sorted(state.config.providers.items())
            for model in provider.models
        ]
        if not any(item["id"] == state.config.model for item in data):
            data.insert(
                0,
                {"id": state.config.model, "object": "model", "created": 0, "owned_by": "default"},
            )
        return JSONResponse({"object": "list", "data": data})

    async def health(request: Request) -> Response:
        refused = _refusal(state, request)
        if refused is not None:
            return _refused_response(refused, "openai")
        return JSONResponse(state.health())

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/messages", messages, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ]
    )
