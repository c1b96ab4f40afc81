-- Groomed backlog: items, their acceptance criteria, and reality-sync runs.
CREATE TABLE backlog_item (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- External key such as Task-013; NULL when the plan gave none.
    key          TEXT UNIQUE COLLATE NOCASE,
    -- The "N." of "### N. Title" in the imported file; NULL when unnumbered.
    number       INTEGER,
    title        TEXT NOT NULL,
    one_liner    TEXT NOT NULL DEFAULT '',
    -- Raw text as written ("High (production readiness)"); the level is derived.
    priority     TEXT NOT NULL DEFAULT '',
    effort       TEXT NOT NULL DEFAULT '',
    risk         TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'ready' CHECK (status IN (
                     'ready', 'ready_soon', 'needs_decision', 'optimization',
                     'in_progress', 'done', 'archived', 'deferred')),
    source       TEXT NOT NULL DEFAULT '',
    -- JSON arrays of strings.
    files        TEXT NOT NULL DEFAULT '[]',
    blockers     TEXT NOT NULL DEFAULT '[]',
    dependencies TEXT NOT NULL DEFAULT '[]',
    evidence     TEXT NOT NULL DEFAULT '[]',
    notes        TEXT NOT NULL DEFAULT '',
    -- Archive subsection ("Sync-Confirmed Major Completions") and <summary> text, for export.
    grp          TEXT NOT NULL DEFAULT '',
    details_summary TEXT NOT NULL DEFAULT '',
    completed_on TEXT NOT NULL DEFAULT '',
    -- When the plan was written (the backlog file's date), the baseline for "changed since".
    planned_at   REAL NOT NULL,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL
);
CREATE INDEX backlog_item_status ON backlog_item(status);

CREATE TABLE backlog_criterion (
    item_id     INTEGER NOT NULL REFERENCES backlog_item(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    text        TEXT NOT NULL,
    done        INTEGER NOT NULL DEFAULT 0,
    done_at     REAL,
    PRIMARY KEY (item_id, seq)
);

CREATE TABLE backlog_sync_run (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    repo        TEXT NOT NULL,
    head        TEXT NOT NULL DEFAULT '',
    since_rev   TEXT,
    applied     INTEGER NOT NULL DEFAULT 0,
    -- The machine-readable sync state (same JSON as the state file).
    state       TEXT NOT NULL,
    created_at  REAL NOT NULL
);
