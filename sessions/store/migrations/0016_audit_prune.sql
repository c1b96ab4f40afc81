-- The provider-call audit's retention ([audit] keep_days): when it was last pruned and what
-- went, in one row. An engine prunes on open at most once a day (whichever process comes
-- first claims the day); `opencode provider log` reports the last prune.
CREATE TABLE audit_prune (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    pruned_at  REAL NOT NULL,       -- unix seconds
    keep_days  INTEGER NOT NULL,
    cutoff     REAL NOT NULL,       -- provider_call rows started before this were deleted
    rows       INTEGER NOT NULL     -- how many
);
