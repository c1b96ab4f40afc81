-- Client-side rate limits ([provider.NAME] rpm / tpm) shared by every opencode process on this
-- database: one token bucket per endpoint and kind, updated in one statement per request
-- (sessions/providers/resilience/shared_limits.py). ``level`` may go below zero: callers
-- reserve their place in line and sleep until the bucket would have refilled to it.
CREATE TABLE rate_limit (
    key       TEXT PRIMARY KEY,     -- the endpoint and the limit: "NAME@ENDPOINT|rpm=60"
    capacity  REAL NOT NULL,        -- the per-minute allowance (a full bucket)
    level     REAL NOT NULL,        -- what is left now (negative: reserved ahead)
    stamp     REAL NOT NULL         -- unix seconds of the last update
);
