"""Provider commands: ``provider status``, ``provider log``, ``provider models [NAME]``.

``status`` shows each endpoint's circuit breaker (closed / open / half-open), its last error,
p50/p95 latency and calls in the last hour; ``log`` the provider-call audit rows and what the
last ``[audit] keep_days`` prune deleted; ``models`` what an endpoint serves (cached with a
TTL; ``--refresh`` asks again). A bad resilience key in opencode.toml is a config error with
exit code 2, as for a turn.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opencode.commands.registry import (
    Arg,
    CommandContext,
    CommandError,
    CommandResult,
    Table,
    command,
)

if TYPE_CHECKING:
    from opencode.sessions.providers.resilience.audit import Prune
    from opencode.sessions.providers.resilience.settings import ResilienceSettings

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$", re.IGNORECASE)
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str, now: float | None = None) -> float:
    """``90s``, ``15m``, ``2h``, ``1d`` (ago) or an ISO date/time -> unix seconds."""
    now = time.time() if now is None else now
    match = _SPAN.match(value)
    if match:
        return now - float(match.group(1)) * _UNIT[match.group(2).lower()]
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(
            f"--since {value!r}: expected a span such as 30m, 2h, 1d or an ISO time such as "
            "2026-11-30T08:00",
            exit_code=2,
        ) from None
    return when.timestamp()


def _settings(ctx: CommandContext) -> ResilienceSettings:
    from opencode.sessions.config import ConfigError
    from opencode.sessions.providers.resilience.settings import load_settings

    try:
        return load_settings(ctx.config)
    except ConfigError as exc:
        raise CommandError(f"config error: {exc}", exit_code=2) from exc


def _when(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _ms(value: float | None) -> str | None:
    return None if value is None else f"{value:.0f}"


@command(
    "provider",
    "status",
    help="circuit breaker, last error, p50/p95 latency and calls in the last hour per provider",
)
async def provider_status(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.providers.resilience.audit import endpoint_label, summaries
    from opencode.sessions.providers.resilience.breaker import all_breakers

    settings = _settings(ctx)
    now = time.time()
    breakers = {(b.provider, b.endpoint): b for b in await all_breakers(ctx.store)}
    stats = {(s.provider, s.endpoint): s for s in await summaries(ctx.store, now=now)}
    # the providers of the default chain always show, others once they have history
    unknown: str | None = None
    try:
        chain = settings.chain(*_split(ctx.config.model)) if "/" in ctx.config.model else []
    except KeyError as exc:  # the model (or a fallback) names a provider the config lacks
        chain, unknown = [], str(exc.args[0]) if exc.args else "?"
    keys = {(e.provider.name, endpoint_label(e.provider.base_url)) for e in chain}
    keys |= set(breakers) | set(stats)
    data: list[dict[str, Any]] = []
    for provider, endpoint in sorted(keys):
        breaker = breakers.get((provider, endpoint))
        stat = stats.get((provider, endpoint))
        policy = settings.policy(provider)
        state = breaker.state if breaker else "closed"
        retry_in = None
        if breaker and state == "open" and breaker.opened_at is not None:
            retry_in = max(0.0, breaker.opened_at + policy.cooldown_s - now)
        last_error = (stat.last_error if stat else None) or (
            breaker.last_error if breaker else None
        )
        data.append(
            {
                "provider": provider,
                "endpoint": endpoint,
                "breaker": state,
                "consecutive_failures": breaker.failures if breaker else 0,
                "failure_threshold": policy.failure_threshold,
                "cooldown_s": policy.cooldown_s,
                "probe_in_s": retry_in,
                "calls_last_hour": stat.calls_last_hour if stat else 0,
                "errors_last_hour": stat.errors_last_hour if stat else 0,
                "p50_ms": stat.p50_ms if stat else None,
                "p95_ms": stat.p95_ms if stat else None,
                "last_error": last_error,
                "last_error_at": stat.last_error_at if stat else None,
                "rpm": policy.rpm,
                "tpm": policy.tpm,
                # the buckets are rows of the store: every process using it draws from them
                "limits_shared": bool(policy.rpm or policy.tpm),
            }
        )
    rows = [
        [
            d["provider"],
            d["endpoint"],
            d["breaker"]
            + (f" (probe in {d['probe_in_s']:.0f} s)" if d["probe_in_s"] is not None else ""),
            d["calls_last_hour"],
            d["errors_last_hour"],
            _ms(d["p50_ms"]),
            _ms(d["p95_ms"]),
            (d["last_error"] or "")[:80] or None,
        ]
        for d in data
    ]
    columns = ["provider", "endpoint", "breaker", "calls 1h", "errors 1h", "p50 ms", "p95 ms"]
    limited = [d for d in data if d["limits_shared"]]
    if limited:
        columns.append("limits")
        for row, d in zip(rows, data, strict=True):
            row.insert(len(row) - 1, _limits(d["rpm"], d["tpm"]))  # before "last error"
    notes = [] if rows else ["No provider calls recorded yet."]
    if unknown is not None:
        notes.append(
            f"The model {ctx.config.model} (or its fallback chain) names provider {unknown!r}, "
            "which no [providers] table defines here (an untrusted project's own providers are "
            f"ignored): define [providers.{unknown}] in opencode.toml or trust the project."
        )
    if limited:
        notes.append(LIMITS_SHARED_NOTE.format(db=ctx.store.path))
    return CommandResult(
        data=data,
        tables=[Table([*columns, "last error"], rows)] if rows else [],
        text="\n".join(notes) or None,
    )


LIMITS_SHARED_NOTE = (
    "rpm/tpm limits are shared by every opencode process using {db} "
    "(two `opencode run` at once draw from one budget)"
)


def _limits(rpm: int | None, tpm: int | None) -> str | None:
    parts = [f"{rpm} rpm" if rpm else "", f"{tpm} tpm" if tpm else ""]
    return " · ".join(p for p in parts if p) or None


def _split(ref: str) -> tuple[str, str]:
    name, _, model = ref.partition("/")
    return name, model


@command(
    "provider",
    "log",
    help="the provider-call audit log (oldest first)",
    args=[
        Arg("since", option="--since", help="only calls since a span ago (30m, 2h, 1d) or a time"),
        Arg("provider", option="--provider", help="only this provider"),
        Arg("session", option="--session", help="only calls of this session id"),
        Arg("limit", option="--limit", type=int, default=100, help="at most N (default 100)"),
    ],
)
async def provider_log(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.providers.resilience.audit import AuditLog, keep_days, last_prune

    since = parse_since(args["since"]) if args.get("since") else None
    if args["limit"] < 1:
        raise CommandError("--limit must be a positive number", exit_code=2)
    calls = await AuditLog(ctx.store).calls(
        since=since,
        provider=args.get("provider"),
        session_id=args.get("session"),
        limit=args["limit"],
    )
    rows = [
        [
            _when(c.started_at),
            f"{c.provider}/{c.model}",
            c.fallback_step,
            c.retry,
            c.status,
            c.error_class,
            c.breaker_state,
            _ms(c.ttft_ms),
            _ms(c.duration_ms),
            f"{c.tokens_in}/{c.tokens_out}" if c.tokens_in is not None else None,
            f"{c.cost:.6f}" if c.cost is not None else None,
        ]
        for c in calls
    ]
    columns = ["started", "model", "step", "retry", "status", "error", "breaker"]
    columns += ["ttft ms", "ms", "tokens", "cost"]
    empty = "No provider calls recorded" + (" in that span." if since else ".")
    retention = _retention(keep_days(ctx.config), await last_prune(ctx.store))
    return CommandResult(
        data=[c.to_dict() for c in calls],
        tables=[Table(columns, rows)] if rows else [],
        text=retention if rows else f"{empty}\n{retention}",
    )


def _retention(days: int, last: Prune | None) -> str:
    """One line under the log: how long rows are kept, and what the last prune deleted."""
    kept = (
        "Rows are kept forever ([audit] keep_days = 0)"
        if days == 0
        else (f"Rows are kept {days} day(s) ([audit] keep_days)")
    )
    if last is None:
        return f"{kept}; not pruned yet."
    return (
        f"{kept}; last pruned {_when(last.pruned_at)}: {last.rows} row(s) from before "
        f"{_when(last.cutoff)} deleted."
    )


@command(
    "provider",
    "models",
    help="models an endpoint serves (cached; --refresh asks the endpoint again)",
    args=[
        Arg("name", positional=True, help="provider name (default: the provider of `model`)"),
        Arg("refresh", option="--refresh", flag=True, help="fetch the list again now"),
    ],
)
async def provider_models(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.providers.resilience.models import ModelCatalog, ModelListError

    settings = _settings(ctx)
    name = args.get("name") or _split(ctx.config.model)[0]
    config = settings.providers.get(name)
    if config is None:
        raise CommandError(
            f"no provider named {name!r}; configured providers: "
            f"{', '.join(sorted(settings.providers))}",
            exit_code=2,
        )
    catalog = ModelCatalog(ctx.store, ttl_s=settings.models_ttl_s)
    try:
        listing = await catalog.get(config, refresh=bool(args.get("refresh")))
    except ModelListError as exc:
        raise CommandError(str(exc)) from exc
    prices = settings.policy(name).prices
    rows = [
        [
            m,
            f"{prices[m].input:g}/{prices[m].output:g}" if m in prices else None,
        ]
        for m in listing.models
    ]
    source = "cached" if listing.cached else "fetched"
    return CommandResult(
        data={
            "provider": listing.provider,
            "endpoint": listing.endpoint,
            "models": list(listing.models),
            "fetched_at": listing.fetched_at,
            "cached": listing.cached,
        },
        tables=[
            Table(
                ["model", "price in/out per Mtok"],
                rows,
                title=f"{name} ({listing.endpoint}), {source} {_when(listing.fetched_at)}",
            )
        ]
        if rows
        else [],
        text=None if rows else f"{name} ({listing.endpoint}) lists no models.",
    )
