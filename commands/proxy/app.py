"""``opencode proxy``: an OpenAI- and Anthropic-compatible endpoint over opencode's providers.

Routes: ``POST /v1/chat/completions`` (OpenAI, streaming and not), ``POST /v1/messages``
(Anthropic, streaming and not), ``GET /v1/models``, ``GET /health``. Each request is parsed into
the neutral ``ChatRequest``, sent to the upstream its model names (``PROVIDER/MODEL`` from
opencode.toml, else the ``--upstream``), and the reply's events go through the same correction
rules as a chat session before they are written back in the client's wire format.

The database is optional at run time: if it is missing, locked or damaged the proxy forwards
without rules, says so once on stderr and in ``/health``, and never drops a request for it.
A client that goes away mid-stream closes the upstream stream at once (no orphaned generation).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
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
) -> AsyncIterator[ProviderEvent]:
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
    if not _authorized(state, request):
        return JSONResponse(
            proto.error_body("invalid proxy token", "authentication_error"), status_code=401
        )
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return JSONResponse(proto.error_body(f"the body is not valid JSON: {exc}"), 400)
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

    async def on_end() -> None:
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
