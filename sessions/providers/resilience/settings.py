"""The resilience keys of ``opencode.toml``, read and checked before any turn starts.

Keys (all optional):

- top level: ``fallback = ["PROVIDER/MODEL", ...]`` tried after a provider's own list;
  ``models_ttl_s`` (how long a fetched model list is trusted, default 3600).
- ``[provider.NAME]``: ``fallback = [...]``; ``failure_threshold`` (consecutive failures that
  open the breaker, default 3); ``cooldown_s`` (how long it stays open, default 30);
  ``rpm`` / ``tpm`` (client-side requests / tokens per minute); ``check_models`` (false: never
  refuse a model the endpoint does not list); ``first_token_timeout_s`` (with a next entry in
  the chain: give up on this one when no content came within that many seconds);
  ``max_wait_s`` (the longest server-requested wait, ``Retry-After`` or a rate-limit reset,
  the chain sleeps before retrying; a longer one is not waited for, default 60).
- ``[provider.NAME.price."MODEL"]``: ``input``, ``output``, ``cached`` per million tokens.

``sessions.config`` keeps any unknown ``[provider.NAME]`` key in ``ProviderConfig.options``, so
these are read from there and from ``Config.raw``; nothing in config.py knows about them.
Every problem is a ``ConfigError`` naming the key and the file, raised when the settings are
built (engine start-up, ``opencode provider ...``), never mid-turn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opencode.sessions.config import Config, ConfigError
from opencode.sessions.providers.base import ProviderConfig

DEFAULT_FAILURE_THRESHOLD = 3
DEFAULT_COOLDOWN_S = 30.0
DEFAULT_MODELS_TTL_S = 3600.0
DEFAULT_MAX_WAIT_S = 60.0


@dataclass(frozen=True, slots=True)
class Price:
    """Cost per million tokens. ``cached`` applies to prompt tokens read from the cache
    (defaults to ``input``)."""

    input: float
    output: float
    cached: float | None = None

    def cost(self, tokens_in: int, tokens_out: int, tokens_cached: int = 0) -> float:
        cached = min(max(tokens_cached, 0), tokens_in)
        cached_rate = self.input if self.cached is None else self.cached
        return (
            (tokens_in - cached) * self.input + cached * cached_rate + tokens_out * self.output
        ) / 1_000_000


@dataclass(frozen=True, slots=True)
class ProviderPolicy:
    name: str
    fallback: tuple[str, ...] = ()
    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD
    cooldown_s: float = DEFAULT_COOLDOWN_S
    rpm: int | None = None
    tpm: int | None = None
    check_models: bool = True
    prices: dict[str, Price] = field(default_factory=dict)
    first_token_timeout_s: float | None = None
    max_wait_s: float = DEFAULT_MAX_WAIT_S


@dataclass(frozen=True, slots=True)
class ChainEntry:
    provider: ProviderConfig
    model: str
    policy: ProviderPolicy

    @property
    def ref(self) -> str:
        return f"{self.provider.name}/{self.model}"


@dataclass(frozen=True, slots=True)
class ResilienceSettings:
    providers: dict[str, ProviderConfig]
    policies: dict[str, ProviderPolicy]
    fallback: tuple[str, ...] = ()
    models_ttl_s: float = DEFAULT_MODELS_TTL_S

    def policy(self, name: str) -> ProviderPolicy:
        return self.policies.get(name) or ProviderPolicy(name)

    def chain(self, provider: str, model: str) -> list[ChainEntry]:
        """The requested model, then its provider's fallback list (each entry followed by its
        own provider's list, depth first), then the global list; each entry once."""
        refs: list[str] = []

        def visit(ref: str, seen_providers: tuple[str, ...]) -> None:
            if ref in refs:
                return
            refs.append(ref)
            name = ref.partition("/")[0]
            if name in seen_providers:
                return  # a provider's list is expanded once per path (no loops: checked)
            for entry in self.policy(name).fallback:
                visit(entry, (*seen_providers, name))

        visit(f"{provider}/{model}", ())
        for ref in self.fallback:
            visit(ref, ())
        entries = []
        for ref in refs:
            name, _, model_name = ref.partition("/")
            entries.append(ChainEntry(self.providers[name], model_name, self.policy(name)))
        return entries


def _where(config: Config) -> str:
    return ", ".join(str(p) for p in config.sources) or "opencode.toml"


def _fail(config: Config, key: str, expected: str, got: Any) -> ConfigError:
    shown = "a table" if isinstance(got, dict) else repr(got)
    return ConfigError(f"{_where(config)}: key {key}: expected {expected}, got {shown}")


def _number(
    config: Config,
    table: Mapping[str, Any],
    name: str,
    key: str,
    default: float | None,
    *,
    integer: bool = False,
    positive: bool = True,
) -> float | None:
    value = table.get(name, default)
    if value is None:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and integer and not isinstance(value, int):
        ok = False
    if ok and (not math.isfinite(value) or value < 0 or (positive and value == 0)):
        ok = False
    if not ok:
        kind = "integer" if integer else "number"
        adjective = "positive" if positive else "non-negative"
        raise _fail(config, key, f"a {adjective} {kind}", value)
    return float(value)


def _refs(config: Config, value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(config, key, 'a list of "PROVIDER/MODEL" strings', value)
    refs: list[str] = []
    for i, ref in enumerate(value):
        where = f"{key}[{i}]"
        if not isinstance(ref, str):
            raise _fail(config, where, 'a "PROVIDER/MODEL" string', ref)
        name, sep, model = ref.partition("/")
        if not sep or not name or not model:
            raise _fail(config, where, 'a "PROVIDER/MODEL" string (e.g. "openai/gpt-4o")', ref)
        if name not in config.providers:
            known = ", ".join(sorted(config.providers))
            raise ConfigError(
                f"{_where(config)}: key {where}: unknown provider {name!r} in {ref!r}; "
                f"configured providers: {known}. Add a [provider.{name}] table or fix the entry"
            )
        if ref in refs:
            raise ConfigError(
                f"{_where(config)}: key {where}: {ref!r} is listed twice; remove one of them"
            )
        refs.append(ref)
    return tuple(refs)


def _prices(config: Config, name: str, value: Any) -> dict[str, Price]:
    key = f"provider.{name}.price"
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(config, key, 'a table of models: price."MODEL" = {input=.., output=..}', value)
    prices: dict[str, Price] = {}
    for model, table in value.items():
        mkey = f'{key}."{model}"'
        if not isinstance(table, dict):
            raise _fail(config, mkey, "a table with input, output (and cached) per Mtok", table)
        unknown = set(table) - {"input", "output", "cached"}
        if unknown:
            raise _fail(config, f"{mkey}.{sorted(unknown)[0]}", "only input, output, cached", 0)
        numbers = {}
        for part in ("input", "output"):
            if part not in table:
                raise ConfigError(
                    f"{_where(config)}: key {mkey}: missing {part} (price per million tokens)"
                )
            numbers[part] = _number(config, table, part, f"{mkey}.{part}", 0.0, positive=False)
        cached = _number(config, table, "cached", f"{mkey}.cached", None, positive=False)
        prices[str(model)] = Price(numbers["input"] or 0.0, numbers["output"] or 0.0, cached)
    return prices


def _check_context_window(config: Config, key: str, value: Any) -> None:
    """``context_window`` (read by ``context.py``): tokens, "auto", or a table per model."""
    if value is None or value == "auto":
        return
    table = value if isinstance(value, dict) else {"": value}
    for model, tokens in table.items():
        where = f"{key}.context_window" + (f'."{model}"' if model else "")
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens <= 0:
            raise _fail(
                config,
                where,
                'a positive number of tokens, "auto" (ask the endpoint) '
                'or a table { "MODEL" = tokens }',
                tokens,
            )


def _policy(config: Config, provider: ProviderConfig) -> ProviderPolicy:
    options = provider.options
    name = provider.name
    key = f"provider.{name}"
    threshold = _number(
        config, options, "failure_threshold", f"{key}.failure_threshold", 3, integer=True
    )
    cooldown = _number(config, options, "cooldown_s", f"{key}.cooldown_s", DEFAULT_COOLDOWN_S)
    rpm = _number(config, options, "rpm", f"{key}.rpm", None, integer=True)
    tpm = _number(config, options, "tpm", f"{key}.tpm", None, integer=True)
    first_token = _number(
        config, options, "first_token_timeout_s", f"{key}.first_token_timeout_s", None
    )
    max_wait = _number(
        config, options, "max_wait_s", f"{key}.max_wait_s", DEFAULT_MAX_WAIT_S, positive=False
    )
    _check_context_window(config, key, options.get("context_window"))
    check_models = options.get("check_models", True)
    if not isinstance(check_models, bool):
        raise _fail(config, f"{key}.check_models", "true or false", check_models)
    return ProviderPolicy(
        name=name,
        fallback=_refs(config, options.get("fallback"), f"{key}.fallback"),
        failure_threshold=int(threshold or DEFAULT_FAILURE_THRESHOLD),
        cooldown_s=cooldown or DEFAULT_COOLDOWN_S,
        rpm=int(rpm) if rpm is not None else None,
        tpm=int(tpm) if tpm is not None else None,
        check_models=check_models,
        prices=_prices(config, name, options.get("price")),
        first_token_timeout_s=first_token,
        max_wait_s=DEFAULT_MAX_WAIT_S if max_wait is None else max_wait,
    )


def _check_loops(config: Config, policies: dict[str, ProviderPolicy]) -> None:
    """A provider's fallback may name another model of the same provider; a path that leaves a
    provider and comes back to it (a -> b -> a) is a loop."""

    def walk(name: str, path: list[str]) -> None:
        for ref in policies[name].fallback:
            nxt = ref.partition("/")[0]
            if nxt == name:
                continue
            if nxt in path:
                cycle = " -> ".join([*path[path.index(nxt) :], nxt])
                raise ConfigError(
                    f"{_where(config)}: key provider.{name}.fallback: the fallback chain loops "
                    f"({cycle}); remove {ref!r} from provider.{name}.fallback or the entry "
                    f"that leads back"
                )
            walk(nxt, [*path, nxt])

    for name in policies:
        walk(name, [name])


def load_settings(config: Config) -> ResilienceSettings:
    """Read and check every resilience key; ``ConfigError`` (exit 2) on the first problem."""
    policies = {name: _policy(config, p) for name, p in config.providers.items()}
    _check_loops(config, policies)
    ttl = _number(config, config.raw, "models_ttl_s", "models_ttl_s", DEFAULT_MODELS_TTL_S)
    return ResilienceSettings(
        providers=dict(config.providers),
        policies=policies,
        fallback=_refs(config, config.raw.get("fallback"), "fallback"),
        models_ttl_s=ttl or DEFAULT_MODELS_TTL_S,
    )
