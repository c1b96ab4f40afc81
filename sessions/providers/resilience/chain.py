"""``ResilientProvider``: the fallback chain, the only retry loop, breaker, limits and audit.

One ``stream(request)`` walks the chain of ``settings.chain(provider, request.model)``: for each
entry it checks the model against the endpoint's cached list, asks the endpoint's breaker,
waits for the rate limiter, and streams from the wire adapter (built with ``max_retries = 0``,
so retries never multiply: this loop owns them). A failure before the first content event moves
to the next entry when ``errors.FALLBACK`` says so; once content has streamed, the reply is
the user's and a later failure ends the turn as it always did (the text is kept).

Every attempt and every skip is a ``provider_call`` row; every decision is also a ``Notice``
to the ``observer`` callback, which the engine turns into status lines and session metadata
(the model that actually answered is the ``answered`` notice).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from opencode.sessions.events import (
    Answered,
    ProviderError,
    ProviderEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    Usage,
)
from opencode.sessions.providers.base import ChatRequest, ProviderConfig
from opencode.sessions.providers.http import backoff_delay
from opencode.sessions.providers.resilience.audit import (
    CallRecord,
    clean_error,
    current_session,
    endpoint_label,
)
from opencode.sessions.providers.resilience.breaker import Breaker, Decision
from opencode.sessions.providers.resilience.errors import (
    BREAKER,
    FALLBACK,
    RETRY,
    classify,
    reason,
    retry_after,
)
from opencode.sessions.providers.resilience.limits import Limiter, estimate_tokens
from opencode.sessions.providers.resilience.settings import ChainEntry

if TYPE_CHECKING:
    from opencode.sessions.providers.resilience.hub import ResilienceHub

_CONTENT = (TextDelta, ReasoningDelta, ToolCallStart, ToolCallDelta, ToolCallEnd)

NoticeKind = Literal[
    "attempt",
    "retry_wait",
    "rate_wait",
    "wait_refused",
    "skipped",
    "failed",
    "fallback",
    "answered",
    "exhausted",
]


@dataclass(frozen=True, slots=True)
class Notice:
    """One decision, for a status line or the session record. ``ref`` is PROVIDER/MODEL.

    Waits and failures also carry ``reason`` ("rate limited", "server error 503", "timeout",
    "client-side requests per minute limit") and ``provider`` (the provider's name), so a
    front end can say "rate limited by openrouter, retrying in 12 s" without parsing ``text``;
    ``seconds`` is the wait (on ``wait_refused``: the wait the server asked for).
    ``error_class`` (on ``fallback``) is the failure's class as the call log records it
    ("connect", "server_error", "rate_limited")."""

    kind: NoticeKind
    ref: str
    step: int
    text: str
    seconds: float = 0.0
    session_id: str | None = None
    requested: str | None = None  # the model the turn asked for (on "answered")
    reason: str | None = None
    provider: str | None = None
    error_class: str | None = None


Observer = Callable[[Notice], None]


@dataclass(slots=True)
class _Attempt:
    """What one streamed attempt produced."""

    error: ProviderError | None = None
    committed: bool = False
    ttft_ms: float | None = None
    usage: Usage | None = None
    held: list[ProviderEvent] = field(default_factory=list)


class ResilientProvider:
    """Implements the ``Provider`` protocol around the wire adapters of a whole chain."""

    def __init__(self, config: ProviderConfig, hub: ResilienceHub) -> None:
        self.config = config
        self.hub = hub

    async def aclose(self) -> None:
        """The hub owns the wire adapters (shared by every chain): closed by ``hub.aclose``."""
        return

    def _entries(self, model: str) -> list[ChainEntry]:
        entries = self.hub.settings.chain(self.config.name, model)
        # The runner may hand in a config that differs from the loaded one (tests, overrides).
        first = entries[0]
        entries[0] = ChainEntry(self.config, first.model, first.policy)
        return entries

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        # The bookkeeping of a failed attempt that the chain moves past (breaker, audit row)
        # waits until the next entry's first content is out: a dead primary then costs the
        # fallback's first byte only the failed connect, and every row is still written.
        pending: list[Awaitable[None]] = []
        try:
            async with aclosing(self._walk(request, pending)) as events:
                async for event in events:
                    yield event
                    if pending and isinstance(event, _CONTENT):
                        await _flush(pending)
        finally:
            await _flush(pending)

    async def _walk(
        self, request: ChatRequest, pending: list[Awaitable[None]]
    ) -> AsyncGenerator[ProviderEvent, None]:
        hub = self.hub
        entries = self._entries(request.model)
        requested = entries[0].ref
        outcomes: list[str] = []
        last_error: ProviderError | None = None
        session = current_session()
        for step, entry in enumerate(entries):
            is_last = step == len(entries) - 1
            ref = entry.ref
            endpoint = endpoint_label(entry.provider.base_url)
            secrets = _secrets(entry.provider)

            if entry.policy.check_models:
                problem = await hub.catalog.unknown_model(entry.provider, entry.model)
                if problem is not None:
                    await hub.audit.record(
                        CallRecord(
                            entry.provider.name,
                            entry.model,
                            endpoint,
                            hub.clock(),
                            0.0,
                            "skipped",
                            error_class="unknown_model",
                            error=clean_error(problem, secrets),
                            fallback_step=step,
                            session_id=session,
                        )
                    )
                    hub.notify(Notice("skipped", ref, step, problem, session_id=session))
                    if step == 0:
                        # a typo is not an outage: say so instead of quietly using another model
                        yield ProviderError(
                            problem,
                            hint=f"fix the model name (opencode.toml `model`, -m) or run "
                            f"`opencode provider models {entry.provider.name} --refresh`",
                        )
                        return
                    outcomes.append(f"{ref}: skipped, {problem}")
                    continue

            breaker = hub.breaker(entry)
            limiter = hub.limiter(entry)
            retry = 0
            while True:
                decision = await breaker.before_call()
                if not decision.allowed:
                    why = (
                        f"circuit breaker {decision.state} for {endpoint} "
                        f"(retry in {decision.retry_in:.0f} s"
                        + (f"; last error: {decision.last_error}" if decision.last_error else "")
                        + ")"
                    )
                    await hub.audit.record(
                        CallRecord(
                            entry.provider.name,
                            entry.model,
                            endpoint,
                            hub.clock(),
                            0.0,
                            "skipped",
                            error_class="breaker_open",
                            error=clean_error(why, secrets),
                            retry=retry,
                            fallback_step=step,
                            breaker_state=decision.state,
                            session_id=session,
                        )
                    )
                    hub.notify(Notice("skipped", ref, step, why, session_id=session))
                    outcomes.append(f"{ref}: {why}")
                    last_error = ProviderError(
                        f"{entry.provider.name}: {why}",
                        retryable=True,
                        hint=f"the endpoint failed {breaker.failure_threshold} times in a row; "
                        f"opencode waits {breaker.cooldown_s:g} s before trying it again "
                        f"(see `opencode provider status`)",
                        url=endpoint,
                    )
                    break

                estimate = estimate_tokens(_request_chars(request), request.max_tokens)

                def on_wait(
                    seconds: float,
                    what: str,
                    _ref: str = ref,
                    _step: int = step,
                    _name: str = entry.provider.name,
                ) -> None:
                    hub.notify(
                        Notice(
                            "rate_wait",
                            _ref,
                            _step,
                            f"{_ref}: waiting {seconds:.1f} s for the client-side {what} "
                            f"per minute limit",
                            seconds,
                            session,
                            reason=f"client-side {what} per minute limit",
                            provider=_name,
                        )
                    )

                await limiter.acquire(estimate, on_wait)
                hub.notify(Notice("attempt", ref, step, f"calling {ref}", session_id=session))
                started = hub.clock()
                t0 = time.perf_counter()
                attempt = _Attempt()
                status = "cancelled"
                try:
                    inner = hub.inner(entry.provider)
                    wire_request = replace(request, model=entry.model)
                    limit = entry.policy.first_token_timeout_s if not is_last else None
                    async with aclosing(
                        _with_first_token_deadline(
                            inner.stream(wire_request), limit, entry.provider
                        )
                    ) as events:
                        async for event in events:
                            if isinstance(event, ProviderError):
                                attempt.error = event
                                break
                            if isinstance(event, Usage):
                                attempt.usage = event
                            if not attempt.committed:
                                if not isinstance(event, _CONTENT):
                                    attempt.held.append(event)  # Usage/Finish ahead of content
                                    continue
                                attempt.committed = True
                                attempt.ttft_ms = (time.perf_counter() - t0) * 1000
                                hub.notify(
                                    Notice(
                                        "answered",
                                        ref,
                                        step,
                                        f"{ref} answered"
                                        + (f" (fallback for {requested})" if step else ""),
                                        session_id=session,
                                        requested=requested,
                                    )
                                )
                                for held in attempt.held:
                                    yield held
                                attempt.held.clear()
                            yield event
                    if attempt.error is None and not attempt.committed:
                        # an empty reply (Finish with no content) is still an answer
                        hub.notify(
                            Notice(
                                "answered",
                                ref,
                                step,
                                f"{ref} answered (empty)",
                                session_id=session,
                                requested=requested,
                            )
                        )
                        for held in attempt.held:
                            yield held
                    if attempt.error is None:
                        # who answered and what it cost, for the message row (runner)
                        yield Answered(ref, requested, call_cost(entry, attempt.usage))
                    status = "ok" if attempt.error is None else "error"
                finally:
                    bookkeeping = self._finish(
                        entry,
                        step,
                        retry,
                        decision,
                        started,
                        t0,
                        attempt,
                        status,
                        estimate,
                        breaker,
                        limiter,
                        session,
                    )
                    moving_on = (
                        status == "error"
                        and not attempt.committed
                        and not is_last
                        and attempt.error is not None
                        and classify(attempt.error) in FALLBACK
                    )
                    if moving_on:
                        pending.append(bookkeeping)
                    else:
                        await bookkeeping
                error = attempt.error
                if error is None:
                    return
                last_error = error
                kind = classify(error)
                if attempt.committed:  # part of a reply streamed: it is still an answer
                    yield Answered(ref, requested, call_cost(entry, attempt.usage))
                if attempt.committed or kind not in FALLBACK:
                    yield _annotated(error, outcomes) if step else error
                    return
                why = reason(error, kind)
                name = entry.provider.name
                asked = retry_after(error)
                wait = self._retry_wait(error, kind, retry, entry) if is_last else None
                if wait is not None:
                    retry += 1
                    hub.notify(
                        Notice(
                            "retry_wait",
                            ref,
                            step,
                            f"{ref}: {why}; retry {retry} in {wait:.1f} s",
                            wait,
                            session,
                            reason=why,
                            provider=name,
                        )
                    )
                    await hub.sleep(wait)
                    continue
                too_long = asked is not None and asked > entry.policy.max_wait_s
                if too_long and is_last and kind in RETRY:
                    # Sleeping through a long quota window would hold the turn (and the
                    # user) for minutes: say so and give the error back instead.
                    hub.notify(
                        Notice(
                            "wait_refused",
                            ref,
                            step,
                            f"{why} by {name}: the server asks to wait {asked:.0f} s, longer "
                            f"than max_wait_s ({entry.policy.max_wait_s:g} s); not waiting",
                            asked or 0.0,
                            session,
                            reason=why,
                            provider=name,
                        )
                    )
                outcomes.append(f"{ref}: {clean_error(error.message, secrets)}")
                if not is_last:
                    # A next entry exists: move on at once, even when the server named a
                    # wait (a fallback answers sooner than any wait would end).
                    asks = f" instead of waiting {asked:.0f} s" if asked is not None else ""
                    hub.notify(
                        Notice(
                            "fallback",
                            ref,
                            step,
                            f"{ref} failed ({kind.replace('_', ' ')}); trying "
                            f"{entries[step + 1].ref}{asks}",
                            asked or 0.0,
                            session,
                            reason=why,
                            provider=name,
                            error_class=kind,
                        )
                    )
                break
        if last_error is None:  # every entry skipped for its model list
            last_error = ProviderError("no model of the chain could be called")
        hub.notify(
            Notice("exhausted", requested, len(entries) - 1, "; ".join(outcomes), 0.0, session)
        )
        if len(entries) == 1:
            yield last_error
            return
        yield ProviderError(
            f"all {len(entries)} models of the chain for {requested} failed: "
            + "; ".join(f"[{i + 1}] {o}" for i, o in enumerate(outcomes)),
            status=last_error.status,
            retryable=last_error.retryable,
            hint=last_error.hint,
            url=last_error.url,
        )

    def _retry_wait(
        self, error: ProviderError, kind: str, retry: int, entry: ChainEntry
    ) -> float | None:
        if kind not in RETRY or retry >= entry.provider.max_retries:
            return None
        after = retry_after(error)
        if after is None:
            return backoff_delay(retry)
        if after > entry.policy.max_wait_s:
            return None  # not worth blocking the turn; a wait_refused notice says how long
        return after

    async def _finish(
        self,
        entry: ChainEntry,
        step: int,
        retry: int,
        decision: Decision,
        started: float,
        t0: float,
        attempt: _Attempt,
        status: str,
        estimate: int,
        breaker: Breaker,
        limiter: Limiter,
        session: str | None,
    ) -> None:
        """Record the attempt: breaker, limiter correction, audit row. Never raises."""
        hub = self.hub
        duration = (time.perf_counter() - t0) * 1000
        error = attempt.error
        kind = classify(error) if error is not None else None
        if error is not None and attempt.committed and kind not in ("auth", "bad_request"):
            kind = "stream_cut" if kind in FALLBACK or kind == "other" else kind
        usage = attempt.usage
        tokens_in = usage.input_tokens if usage else None
        tokens_out = usage.output_tokens if usage else None
        cached = usage.cache_read_tokens if usage else None
        cost = call_cost(entry, usage)
        try:
            if status == "ok":
                await breaker.record_success(decision.state == "closed" and not decision.failures)
            elif status == "error" and kind in BREAKER:
                await breaker.record_failure(
                    clean_error(error.message if error else "", _secrets(entry.provider)) or ""
                )
            elif status == "error":
                await breaker.record_success(
                    decision.state == "closed" and not decision.failures
                )  # the endpoint answered: it is up
            if usage is not None:
                await limiter.settle(estimate, usage.input_tokens + usage.output_tokens)
            await hub.audit.record(
                CallRecord(
                    entry.provider.name,
                    entry.model,
                    endpoint_label(entry.provider.base_url),
                    started,
                    duration,
                    status,
                    ttft_ms=attempt.ttft_ms,
                    error_class=kind,
                    http_status=error.status if error else None,
                    error=clean_error(error.message, _secrets(entry.provider)) if error else None,
                    retry=retry,
                    fallback_step=step,
                    breaker_state=decision.state,
                    tokens_in=tokens_in,
                    tokens_out=tokens_out,
                    tokens_cached=cached,
                    cost=cost,
                    session_id=session,
                )
            )
        except Exception as exc:  # the audit must never break a reply that already streamed
            hub.notify(
                Notice("failed", entry.ref, step, f"could not record the provider call: {exc}")
            )


async def _with_first_token_deadline(
    events: AsyncGenerator[ProviderEvent, None],
    limit: float | None,
    provider: ProviderConfig,
) -> AsyncGenerator[ProviderEvent, None]:
    """``events``, or a timeout ``ProviderError`` when no content arrived within ``limit`` s.

    The read timeout of a provider (``timeout``, 120 s by default) is how long one silent gap
    may last, so a hung primary would hold a turn that long before the chain could move on;
    ``first_token_timeout_s`` bounds the wait for the first content when there is a next
    entry. The wait runs in this task (``asyncio.timeout``), so cancelling it closes the
    adapter's response like any other cancellation."""
    async with aclosing(events):
        if limit is None:
            async for event in events:
                yield event
            return
        deadline = asyncio.get_running_loop().time() + limit
        iterator = events.__aiter__()
        content = False
        while True:
            try:
                if content:
                    event = await iterator.__anext__()
                else:
                    async with asyncio.timeout_at(deadline):
                        event = await iterator.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError:
                yield ProviderError(
                    f"{provider.name}: no first token from "
                    f"{endpoint_label(provider.base_url)} within {limit:g} s",
                    retryable=True,
                    hint=f"[provider.{provider.name}] first_token_timeout_s = {limit:g} "
                    "moves on to the next model of the chain; raise it if the model is slow",
                )
                return
            content = content or isinstance(event, _CONTENT)
            yield event


def call_cost(entry: ChainEntry, usage: Usage | None) -> float | None:
    """What a call to ``entry`` with ``usage`` cost; None without a price or a usage report."""
    price = entry.policy.prices.get(entry.model)
    if price is None or usage is None:
        return None
    return price.cost(usage.input_tokens, usage.output_tokens, usage.cache_read_tokens)


async def _flush(pending: list[Awaitable[None]]) -> None:
    while pending:
        await pending.pop(0)


def _annotated(error: ProviderError, outcomes: list[str]) -> ProviderError:
    before = "; ".join(outcomes)
    return replace(error, message=f"{error.message} (after: {before})") if before else error


def _secrets(config: ProviderConfig) -> tuple[str, ...]:
    return tuple(v for v in (config.api_key, *config.headers.values()) if v)


def _request_chars(request: ChatRequest) -> int:
    chars = len(request.system or "")
    for message in request.messages:
        chars += len(message.content)
        for call in message.tool_calls:
            chars += len(call.arguments)
    return chars
