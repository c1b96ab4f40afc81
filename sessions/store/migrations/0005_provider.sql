-- Provider resilience: one row per provider call (the audit log), the circuit breaker of each
-- endpoint (shared by every opencode process on this database), and each endpoint's model list.
-- Times are unix seconds (REAL). Endpoints are stored without credentials or query strings;
-- no api key ever reaches these tables.
CREATE TABLE provider_call (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id    TEXT,
    provider      TEXT NOT NULL,
    model         TEXT NOT NULL,
    endpoint      TEXT NOT NULL,
    started_at    REAL NOT NULL,
    -- milliseconds from sending the request to the first streamed content; NULL if none came
    ttft_ms       REAL,
    duration_ms   REAL NOT NULL,
    -- ok | error | skipped (breaker open, unknown model: nothing was sent) | cancelled
    status        TEXT NOT NULL CHECK (status IN ('ok', 'error', 'skipped', 'cancelled')),
    -- connect | timeout | server_error | overloaded | rate_limited | context_length | auth |
    -- bad_request | not_found | stream_cut | breaker_open | unknown_model | other; NULL when ok
    error_class   TEXT,
    http_status   INTEGER,
    error         TEXT,
    -- 0 for the first attempt at this chain entry, 1 for its first retry, ...
    retry         INTEGER NOT NULL DEFAULT 0,
    -- 0 for the requested model, 1 for the first fallback entry, ...
    fallback_step INTEGER NOT NULL DEFAULT 0,
    -- the endpoint's breaker when the call was decided: closed | open | half-open
    breaker_state TEXT NOT NULL DEFAULT 'closed',
    tokens_in     INTEGER,
    tokens_out    INTEGER,
    tokens_cached INTEGER,
    -- in the currency of the configured price table; NULL when the model has no price
    cost          REAL
);

CREATE INDEX provider_call_started ON provider_call (started_at);
CREATE INDEX provider_call_provider ON provider_call (provider, started_at);
CREATE INDEX provider_call_session ON provider_call (session_id);

CREATE TABLE provider_breaker (
    -- provider name + ' ' + endpoint
    key           TEXT PRIMARY KEY,
    provider      TEXT NOT NULL,
    endpoint      TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'closed'
                  CHECK (state IN ('closed', 'open', 'half-open')),
    -- consecutive failures while closed
    failures      INTEGER NOT NULL DEFAULT 0,
    opened_at     REAL,
    -- when the half-open probe was handed out; another probe waits until it reports or expires
    probe_at      REAL,
    last_error    TEXT,
    updated_at    REAL NOT NULL
);

CREATE TABLE provider_model (
    -- provider name + ' ' + endpoint
    key           TEXT NOT NULL,
    model         TEXT NOT NULL,
    fetched_at    REAL NOT NULL,
    PRIMARY KEY (key, model)
);

CREATE TABLE provider_model_fetch (
    key           TEXT PRIMARY KEY,
    fetched_at    REAL NOT NULL,
    count         INTEGER NOT NULL
);
