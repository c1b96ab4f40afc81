"""The provider-call audit log: one ``provider_call`` row per attempt, and the reports on it.

Every decision of the resilience layer is a row: a call that answered, failed, was retried or
was never sent (breaker open, unknown model) — with its chain position (``fallback_step``), its
retry number, the breaker's state, time to first token, tokens and cost. Endpoints are stored
through ``endpoint_label`` (no credentials, no query string); error text goes through
``secrets.scrub`` plus the provider's own key.

The session a call belongs to comes from ``call_session`` (a context variable the engine sets
around a turn), because the ``Provider`` protocol carries no session id.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opencode.sessions.secrets import redact_url, scrub
from opencode.sessions.store.db import Store

ERROR_CHARS = 500

_SESSION: ContextVar[str | None] = ContextVar("opencode_provider_call_session", default=None)


@contextmanager
def call_session(session_id: str | None) -> Iterator[None]:
    """Attribute the provider calls made inside this block to ``session_id``."""
    token = _SESSION.set(session_id)
    try:
        yield
    finally:
        _SESSION.reset(token)


def current_session() -> str | None:
    return _SESSION.get()


def endpoint_label(base_url: str) -> str:
    """The endpoint as stored and shown: credentials masked, query and fragment dropped
    (``?key=...`` is how some gateways take a key)."""
    url = redact_url(base_url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("?", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


@dataclass(slots=True)
class CallRecord:
    provider: str
    model: str
    endpoint: str
    started_at: float
    duration_ms: float
    status: str  # ok | error | skipped | cancelled
    ttft_ms: float | None = None
    error_class: str | None = None
    http_status: int | None = None
    error: str | None = None
    retry: int = 0
    fallback_step: int = 0
    breaker_state: str = "closed"
    tokens_in: int | None = None
    tokens_out: int | None = None
    tokens_cached: int | None = None
    cost: float | None = None
    session_id: str | None = None
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_COLUMNS = (
    "session_id, provider, model, endpoint, started_at, ttft_ms, duration_ms, status, "
    "error_class, http_status, error, retry, fallback_step, breaker_state, tokens_in, "
    "tokens_out, tokens_cached, cost"
)


def clean_error(text: str | None, secrets: tuple[str, ...] = ()) -> str | None:
    if not text:
        return text
    text = scrub(text, extra=secrets)
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


class AuditLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(self, call: CallRecord) -> int:
        return await self.store.execute(
            f"INSERT INTO provider_call ({_COLUMNS}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                call.session_id,
                call.provider,
                call.model,
                call.endpoint,
                call.started_at,
                call.ttft_ms,
                call.duration_ms,
                call.status,
                call.error_class,
                call.http_status,
                call.error,
                call.retry,
                call.fallback_step,
                call.breaker_state,
                call.tokens_in,
                call.tokens_out,
                call.tokens_cached,
                call.cost,
            ),
        )

    async def calls(
        self,
        *,
        since: float | None = None,
        provider: str | None = None,
        session_id: str | None = None,
        limit: int = 100,
    ) -> list[CallRecord]:
        """The latest ``limit`` calls (oldest first)."""
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if since is not None:
            where.append("started_at >= ?")
            params.append(since)
        if provider:
            where.append("provider = ?")
            params.append(provider)
        if session_id:
            where.append("session_id = ?")
            params.append(session_id)
        rows = await self.store.fetchall(
            f"SELECT id, {_COLUMNS} FROM provider_call WHERE {' AND '.join(where)} "
            "ORDER BY started_at DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        return [CallRecord(**{k: r[k] for k in r.keys()}) for r in reversed(rows)]


@dataclass(slots=True)
class ProviderSummary:
    provider: str
    endpoint: str
    calls_last_hour: int
    errors_last_hour: int
    p50_ms: float | None
    p95_ms: float | None
    last_error: str | None
    last_error_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


async def summaries(
    store: Store, *, now: float | None = None, window_s: float = 3600.0
) -> list[ProviderSummary]:
    """Per provider endpoint, over the last ``window_s``: calls sent (skipped ones excluded),
    errors, p50/p95 of the whole call duration of answered calls, and the last error ever."""
    now = time.time() if now is None else now
    rows = await store.fetchall(
        "SELECT provider, endpoint, status, duration_ms FROM provider_call "
        "WHERE started_at >= ? AND status != 'skipped'",
        (now - window_s,),
    )
    groups: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        groups.setdefault((row["provider"], row["endpoint"]), []).append(row)
    last_errors = await store.fetchall(
        "SELECT provider, endpoint, error, MAX(started_at) AS at FROM provider_call "
        "WHERE status = 'error' GROUP BY provider, endpoint"
    )
    errors = {(r["provider"], r["endpoint"]): (r["error"], r["at"]) for r in last_errors}
    out = []
    for key in sorted(set(groups) | set(errors)):
        calls = groups.get(key, [])
        ok = [float(r["duration_ms"]) for r in calls if r["status"] == "ok"]
        error, at = errors.get(key, (None, None))
        out.append(
            ProviderSummary(
                provider=key[0],
                endpoint=key[1],
                calls_last_hour=len(calls),
                errors_last_hour=sum(1 for r in calls if r["status"] == "error"),
                p50_ms=percentile(ok, 50),
                p95_ms=percentile(ok, 95),
                last_error=error,
                last_error_at=at,
            )
        )
    return out


async def session_cost(store: Store, session_id: str) -> tuple[float | None, int]:
    """(cost of the session's calls, None when no call had a price; number of calls sent) —
    what the engine writes into ``session.cost`` when a turn ends."""
    row = await store.fetchone(
        "SELECT SUM(cost) AS cost, COUNT(*) AS calls FROM provider_call "
        "WHERE session_id = ? AND status != 'skipped'",
        (session_id,),
    )
    if row is None:
        return None, 0
    return (None if row["cost"] is None else float(row["cost"])), int(row["calls"])
