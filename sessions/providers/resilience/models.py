"""Which models an endpoint serves: fetched from it, cached in SQLite with a TTL, checked.

OpenAI-compatible servers and Anthropic answer ``GET {base_url}/models`` (``data[].id``); Ollama
answers ``GET {base_url}/api/tags`` (``models[].name``, where ``llama3`` means
``llama3:latest``). A turn never fetches: it checks against the cached list only, so the check
costs no round trip, and a model the endpoint does not list is refused before any request with
the closest names it does list.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from opencode.sessions.providers.base import ProviderConfig
from opencode.sessions.providers.resilience.audit import clean_error, endpoint_label
from opencode.sessions.store.db import Store

FETCH_TIMEOUT_S = 10.0
ANTHROPIC_VERSION = "2023-06-01"
MEMO_S = 60.0


class ModelListError(Exception):
    """The model list could not be fetched; the message says from where and why."""


@dataclass(frozen=True, slots=True)
class ModelList:
    provider: str
    endpoint: str
    models: tuple[str, ...]
    fetched_at: float
    cached: bool


def cache_key(config: ProviderConfig) -> str:
    return f"{config.name} {endpoint_label(config.base_url)}"


def _request_parts(config: ProviderConfig) -> tuple[str, dict[str, str]]:
    base = config.base_url.rstrip("/")
    headers = {"user-agent": "opencode-py"}
    if config.api == "ollama":
        url = base + "/api/tags"
    elif config.api == "anthropic":
        url = base + "/models?limit=1000"
        headers["anthropic-version"] = ANTHROPIC_VERSION
        if config.api_key:
            headers["x-api-key"] = config.api_key
    else:
        url = base + "/models"
        if config.api_key:
            headers["authorization"] = f"Bearer {config.api_key}"
    headers.update({k.lower(): v for k, v in config.headers.items()})
    return url, headers


def parse_models(api: str, data: Any) -> list[str]:
    if not isinstance(data, dict):
        return []
    items = data.get("models") if api == "ollama" else data.get("data")
    if not isinstance(items, list):
        return []
    field = "name" if api == "ollama" else "id"
    names = []
    for item in items:
        if isinstance(item, dict):
            value = item.get(field) or item.get("model") or item.get("id")
            if isinstance(value, str) and value:
                names.append(value)
    return sorted(set(names))


async def fetch_models(
    config: ProviderConfig, transport: httpx.AsyncBaseTransport | None = None
) -> list[str]:
    if config.api == "local":
        return list(config.models)
    url, headers = _request_parts(config)
    shown = endpoint_label(url)
    secrets = tuple(v for v in (config.api_key, *config.headers.values()) if v)
    try:
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_S, transport=transport) as client:
            response = await client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise ModelListError(
            clean_error(
                f"{config.name}: cannot list models at {shown}: {type(exc).__name__}: {exc}; "
                f"is the server running at {endpoint_label(config.base_url)}?",
                secrets,
            )
        ) from exc
    if not response.is_success:
        raise ModelListError(
            clean_error(
                f"{config.name}: HTTP {response.status_code} listing models at {shown}"
                + (
                    f"; check [provider.{config.name}] api_key"
                    if response.status_code in (401, 403)
                    else ""
                ),
                secrets,
            )
        )
    try:
        data = response.json()
    except ValueError as exc:
        raise ModelListError(
            f"{config.name}: the model list at {shown} is not JSON; "
            f"check [provider.{config.name}] api and base_url"
        ) from exc
    return parse_models(config.api, data)


class ModelCatalog:
    def __init__(
        self, store: Store, *, ttl_s: float = 3600.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.clock = clock
        # per process, re-read after MEMO_S: a turn checks the same endpoint many times, and a
        # `provider models --refresh` in another process is seen within MEMO_S
        self._memo: dict[str, tuple[float, float, tuple[str, ...]] | None] = {}
        self._memo_at: dict[str, float] = {}

    async def cached(self, config: ProviderConfig) -> ModelList | None:
        """The stored list if it is younger than the TTL, else None."""
        key = cache_key(config)
        now = self.clock()
        if key in self._memo and now - self._memo_at[key] <= MEMO_S:
            memo = self._memo[key]
            if memo is None:
                return None
            if now - memo[0] <= self.ttl_s:
                return self._list(config, memo[2], memo[0], True)
        self._memo_at[key] = now
        row = await self.store.fetchone(
            "SELECT fetched_at FROM provider_model_fetch WHERE key = ?", (key,)
        )
        if row is None or now - float(row["fetched_at"]) > self.ttl_s:
            self._memo[key] = None
            return None
        rows = await self.store.fetchall(
            "SELECT model FROM provider_model WHERE key = ? ORDER BY model", (key,)
        )
        models = tuple(r["model"] for r in rows)
        self._memo[key] = (float(row["fetched_at"]), now, models)
        return self._list(config, models, float(row["fetched_at"]), True)

    def _list(
        self, config: ProviderConfig, models: tuple[str, ...], at: float, cached: bool
    ) -> ModelList:
        return ModelList(config.name, endpoint_label(config.base_url), models, at, cached)

    async def refresh(
        self, config: ProviderConfig, transport: httpx.AsyncBaseTransport | None = None
    ) -> ModelList:
        models = tuple(await fetch_models(config, transport))
        key = cache_key(config)
        now = self.clock()
        async with self.store.transaction():
            await self.store.execute("DELETE FROM provider_model WHERE key = ?", (key,))
            await self.store.executemany(
                "INSERT INTO provider_model (key, model, fetched_at) VALUES (?, ?, ?)",
                [(key, m, now) for m in models],
            )
            await self.store.execute(
                "INSERT INTO provider_model_fetch (key, fetched_at, count) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET fetched_at = excluded.fetched_at, "
                "count = excluded.count",
                (key, now, len(models)),
            )
        self._memo[key] = (now, now, models)
        self._memo_at[key] = now
        return self._list(config, models, now, False)

    async def get(self, config: ProviderConfig, *, refresh: bool = False) -> ModelList:
        if not refresh:
            cached = await self.cached(config)
            if cached is not None:
                return cached
        return await self.refresh(config)

    async def unknown_model(self, config: ProviderConfig, model: str) -> str | None:
        """None when ``model`` may be sent; else the error text (with close matches). Only a
        known (cached, fresh, non-empty) list can refuse a model."""
        listing = await self.cached(config)
        if listing is None or not listing.models:
            return None
        if is_listed(config, model, listing.models):
            return None
        names = sorted(set(listing.models) | set(config.models))
        close = difflib.get_close_matches(model, names, n=3, cutoff=0.5)
        suggestion = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return (
            f"{config.name}: model {model!r} is not served by {listing.endpoint} "
            f"(its list of {len(listing.models)} models, fetched "
            f"{_age(self.clock() - listing.fetched_at)} ago){suggestion} "
            f"See `opencode provider models {config.name}`; set [provider.{config.name}] "
            f"check_models = false to send unlisted names anyway"
        )


def is_listed(config: ProviderConfig, model: str, models: tuple[str, ...]) -> bool:
    if model in models or model in config.models:
        return True
    if config.api == "ollama" and ":" not in model and f"{model}:latest" in models:
        return True
    return False


def _age(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
