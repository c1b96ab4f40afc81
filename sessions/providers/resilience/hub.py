"""The resilience layer's one assembly: settings, store-backed breakers, limiters, audit, model
catalog and the wire adapters behind every chain. The engine builds one hub and takes its
``provider_factory`` (or calls ``build_provider``); everything is shared by the chains it hands
out, so two turns on the same endpoint share one breaker, one limiter and one HTTP client.

The engine's wiring (``sessions/engine.py``), in full::

    hub = ResilienceHub.from_config(config, store, observer=on_notice)  # ConfigError: exit 2
    runner = Runner(..., provider_factory=hub.provider_factory)
    with call_session(session_id):          # audit rows carry the session id
        await runner.send(session_id, text)
    cost, _ = await session_cost(store, session_id)   # -> session.cost
    await runner.aclose(); await hub.aclose()

``on_notice(Notice)``: ``answered`` names the model that answered (``ref``) and the one asked
for (``requested``), to persist on the assistant message; ``rate_wait``, ``retry_wait``,
``fallback``, ``skipped`` and ``exhausted`` are status lines.

Rate limiters live in the store by default (``StoreLimiters``, table ``rate_limit``): every
engine on one database, in this process or another (the TUI, a subagent, two ``opencode run``
at once), draws from one ``rpm`` / ``tpm`` per endpoint. ``LimiterRegistry`` keeps them in this
process only (tests with a fake clock, benches).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from opencode.sessions.config import Config
from opencode.sessions.providers.base import Provider, ProviderConfig
from opencode.sessions.providers.resilience.audit import AuditLog, endpoint_label
from opencode.sessions.providers.resilience.breaker import Breaker, breaker_key
from opencode.sessions.providers.resilience.chain import Notice, Observer, ResilientProvider
from opencode.sessions.providers.resilience.limits import Limiter, TokenBucket
from opencode.sessions.providers.resilience.models import ModelCatalog
from opencode.sessions.providers.resilience.settings import (
    ChainEntry,
    ResilienceSettings,
    load_settings,
)
from opencode.sessions.providers.resilience.shared_limits import StoreBucket
from opencode.sessions.store.db import Store

Sleep = Callable[[float], Awaitable[None]]
AdapterFactory = Callable[[ProviderConfig], Provider]


class LimiterRegistry:
    """Limiters by endpoint; one per (endpoint, rpm, tpm) so a changed limit takes effect."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self._limiters: dict[tuple[str, int | None, int | None], Limiter] = {}

    def get(self, key: str, rpm: int | None, tpm: int | None) -> Limiter:
        limiter = self._limiters.get((key, rpm, tpm))
        if limiter is None:
            limiter = Limiter(
                rpm=TokenBucket(rpm, "requests", self.clock, self.sleep) if rpm else None,
                tpm=TokenBucket(tpm, "tokens", self.clock, self.sleep) if tpm else None,
            )
            self._limiters[(key, rpm, tpm)] = limiter
        return limiter


class StoreLimiters(LimiterRegistry):
    """Limiters whose buckets are rows of the store's ``rate_limit`` table, so every process
    on the database shares them (the bucket's key carries the limit: a changed ``rpm`` starts
    a new bucket)."""

    def __init__(self, store: Store, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(time.time, sleep)
        self.store = store

    def get(self, key: str, rpm: int | None, tpm: int | None) -> Limiter:
        limiter = self._limiters.get((key, rpm, tpm))
        if limiter is None:
            store, clock, sleep = self.store, self.clock, self.sleep
            limiter = Limiter(
                rpm=StoreBucket(store, f"{key}|rpm={rpm}", rpm, "requests", clock, sleep)
                if rpm
                else None,
                tpm=StoreBucket(store, f"{key}|tpm={tpm}", tpm, "tokens", clock, sleep)
                if tpm
                else None,
            )
            self._limiters[(key, rpm, tpm)] = limiter
        return limiter


def _default_adapter(config: ProviderConfig) -> Provider:
    from opencode.sessions.providers.factory import make_provider

    provider: Provider = make_provider(config)
    return provider


class ResilienceHub:
    def __init__(
        self,
        settings: ResilienceSettings,
        store: Store,
        *,
        observer: Observer | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
        limiters: LimiterRegistry | None = None,
        make_adapter: AdapterFactory = _default_adapter,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.sleep = sleep
        self.audit = AuditLog(store)
        self.catalog = ModelCatalog(store, ttl_s=settings.models_ttl_s, clock=clock)
        self.limiters = limiters or StoreLimiters(store)
        self.make_adapter = make_adapter
        self.observers: list[Observer] = [observer] if observer else []
        self._adapters: dict[tuple[str, str], Provider] = {}
        self._breakers: dict[str, Breaker] = {}

    @classmethod
    def from_config(
        cls, config: Config, store: Store, *, observer: Observer | None = None
    ) -> ResilienceHub:
        """``ConfigError`` (exit 2) for a bad resilience key, before any turn."""
        return cls(load_settings(config), store, observer=observer)

    # ------------------------------------------------------------------ parts

    def notify(self, notice: Notice) -> None:
        for observer in self.observers:
            try:
                observer(notice)
            except Exception:  # a status line must never break a turn
                pass

    def inner(self, config: ProviderConfig) -> Provider:
        """The wire adapter of ``config``, with its own retries off: the chain owns them."""
        key = (config.name, config.base_url)
        adapter = self._adapters.get(key)
        if adapter is None:
            adapter = self.make_adapter(replace(config, max_retries=0))
            self._adapters[key] = adapter
        return adapter

    def breaker(self, entry: ChainEntry) -> Breaker:
        endpoint = endpoint_label(entry.provider.base_url)
        key = breaker_key(entry.provider.name, endpoint)
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = Breaker(
                self.store,
                entry.provider.name,
                endpoint,
                failure_threshold=entry.policy.failure_threshold,
                cooldown_s=entry.policy.cooldown_s,
                probe_timeout_s=entry.provider.timeout,
                clock=self.clock,
            )
            self._breakers[key] = breaker
        return breaker

    def limiter(self, entry: ChainEntry) -> Limiter:
        key = breaker_key(entry.provider.name, endpoint_label(entry.provider.base_url))
        return self.limiters.get(key, entry.policy.rpm, entry.policy.tpm)

    # ------------------------------------------------------------------ what the engine calls

    def provider_factory(self, config: ProviderConfig) -> Provider:
        """A ``runner.ProviderFactory``: the runner asks per provider config and keeps the
        result; the chain reads the model from each request."""
        return ResilientProvider(config, self)

    def build_provider(self, model_ref: str) -> ResilientProvider:
        name = model_ref.partition("/")[0]
        return ResilientProvider(self.settings.providers[name], self)

    async def aclose(self) -> None:
        adapters, self._adapters = list(self._adapters.values()), {}
        for adapter in adapters:
            await adapter.aclose()


def build_provider(
    config: Config,
    model_ref: str,
    store: Store,
    *,
    observer: Observer | None = None,
) -> tuple[ResilienceHub, ResilientProvider]:
    """The one-call form: check the resilience keys (``ConfigError``), resolve ``model_ref``
    (``ConfigError`` for an unknown provider), and return the hub (close it when done) and the
    provider for that model."""
    config.resolve_model(model_ref)
    hub = ResilienceHub.from_config(config, store, observer=observer)
    return hub, hub.build_provider(model_ref)
