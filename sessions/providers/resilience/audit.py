"""The provider-call audit log: one ``provider_call`` row per attempt, and the reports on it.

Every decision of the resilience layer is a row: a call that answered, failed, was retried or
was never sent (breaker open, unknown model) — with its chain position (``fallback_step``), its
retry number, the breaker's state, time to first token, tokens and cost. Endpoints are stored
through ``endpoint_label`` (no credentials, no query string); error text goes through
``secrets.scrub`` plus the provider's own key.

The session a call belongs to comes from ``call_session`` (a context variable the engine sets
around a turn), because the ``Provider`` protocol carries no session id.

Retention: rows older than ``[audit] keep_days`` (default 30; 0 keeps everything) are deleted
by ``prune_if_due``, which the engine calls on open and which does the work at most once a
day across processes; ``last_prune`` is what ``opencode provider log`` reports.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from opencode.sessions.secrets import redact_url, scrub
from opencode.sessions.store.db import Store

if TYPE_CHECKING:
    from opencode.sessions.config import Config

ERROR_CHARS = 500
DEFAULT_KEEP_DAYS = 30
DAY_S = 86_400.0
# Rows deleted per statement: a first prune of a years-old log never holds the write lock
# (and stalls a streaming turn in another process) for long.
PRUNE_BATCH = 5_000

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


@dataclass(frozen=True, slots=True)
class Prune:
    """One prune of the audit: when, under which ``keep_days``, the cutoff, rows deleted."""

    pruned_at: float
    keep_days: int
    cutoff: float
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def keep_days(config: Config) -> int:
    """``[audit] keep_days`` (checked when the config loaded); 0 keeps every row."""
    value = config.section("audit").get("keep_days", DEFAULT_KEEP_DAYS)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return DEFAULT_KEEP_DAYS
    return value


async def last_prune(store: Store) -> Prune | None:
    row = await store.fetchone(
        "SELECT pruned_at, keep_days, cutoff, rows FROM audit_prune WHERE id = 1"
    )
    if row is None:
        return None
    return Prune(float(row["pruned_at"]), int(row["keep_days"]), float(row["cutoff"]), row["rows"])


def _due(last: Prune | None, now: float) -> bool:
    # A clock set back (now before the last prune) counts as due rather than never again.
    return last is None or not 0 <= now - last.pruned_at < DAY_S


async def prune_if_due(store: Store, days: int, *, now: float | None = None) -> Prune | None:
    """Delete ``provider_call`` rows started more than ``days`` ago, unless some process did
    so in the last day (or ``days`` is 0, or no row is that old). Returns the prune done here,
    or None."""
    if days <= 0:
        return None
    now = time.time() if now is None else now
    if not _due(await last_prune(store), now):
        return None  # the usual case: one small read per engine open
    cutoff = now - days * DAY_S
    old = await store.fetchone(
        "SELECT 1 FROM provider_call WHERE started_at < ? LIMIT 1", (cutoff,)
    )
    if old is None:
        return None  # nothing to delete: no write at all (the started_at index answers)
    async with store.transaction():
        # Claim the day first: engines opening together do not both walk the table.
        if not _due(await last_prune(store), now):
            return None
        await store.execute(
            "INSERT INTO audit_prune (id, pruned_at, keep_days, cutoff, rows) "
            "VALUES (1, ?, ?, ?, 0) ON CONFLICT (id) DO UPDATE SET pruned_at = excluded.pruned_at, "
            "keep_days = excluded.keep_days, cutoff = excluded.cutoff, rows = 0",
            (now, days, cutoff),
        )
    total = 0
    while True:
        deleted = await store.execute(
            "DELETE FROM provider_call WHERE id IN "
            "(SELECT id FROM provider_call WHERE started_at < ? LIMIT ?)",
            (cutoff, PRUNE_BATCH),
        )
        total += deleted
        if deleted < PRUNE_BATCH:
            break
    await store.execute("UPDATE audit_prune SET rows = ? WHERE id = 1", (total,))
    return Prune(now, days, cutoff, total)
