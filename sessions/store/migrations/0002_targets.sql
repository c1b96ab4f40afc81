-- Target projects, sync runs, backups (with a sha256 manifest) and verification runs.
-- Times are ISO 8601 UTC text ("2026-02-24T00:00:00Z"), as in the seed's registry format.
CREATE TABLE target (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    path          TEXT NOT NULL,
    type          TEXT NOT NULL CHECK (type IN ('site-packages', 'source')),
    python        TEXT,
    test_command  TEXT,
    status        TEXT NOT NULL DEFAULT 'unknown'
                  CHECK (status IN ('synchronized', 'needs_sync', 'failed', 'unknown')),
    status_reason TEXT,
    last_sync     TEXT,
    -- the source commit last synced, and its label (git describe, or `target tag --version`)
    sync_commit   TEXT,
    sync_version  TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE backup (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    target_id   INTEGER NOT NULL REFERENCES target(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    -- manual (`target backup`, a snapshot of every component) | sync (files a sync will touch)
    reason      TEXT NOT NULL,
    dir         TEXT NOT NULL,
    -- JSON {"components": [...], "snapshot": {component: root}, "code": {"python", "dist"}};
    -- files under a snapshot root that are not in the manifest are removed on restore, so the
    -- component comes back exactly as it was
    roots       TEXT NOT NULL DEFAULT '{}',
    file_count  INTEGER NOT NULL DEFAULT 0,
    total_bytes INTEGER NOT NULL DEFAULT 0,
    -- 0 until every blob and the manifest are on disk; incomplete backups are never restored
    complete    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX backup_target ON backup(target_id, id);

CREATE TABLE backup_file (
    backup_id   INTEGER NOT NULL REFERENCES backup(id) ON DELETE CASCADE,
    component   TEXT NOT NULL CHECK (component IN ('code', 'docs', 'plans', 'rag', 'config')),
    path        TEXT NOT NULL,          -- absolute
    existed     INTEGER NOT NULL,       -- 0: created by the sync, so restore deletes it
    sha256      TEXT,
    size        INTEGER,
    mode        INTEGER,
    PRIMARY KEY (backup_id, path)
);

CREATE TABLE sync_run (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    target_id       INTEGER NOT NULL REFERENCES target(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL DEFAULT 'full',   -- full | docs | plans | rag
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    source_commit   TEXT,
    since_commit    TEXT,
    -- running (or a crash left it so) | succeeded | failed (restored from the backup)
    status          TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    step            TEXT,
    changes         TEXT NOT NULL DEFAULT '{}',     -- JSON: detected changes + files copied
    backup_id       INTEGER REFERENCES backup(id) ON DELETE SET NULL,
    verification_id INTEGER,
    error           TEXT,
    -- the process running it: a 'running' row whose process is gone was interrupted
    pid             INTEGER
);
CREATE INDEX sync_run_target ON sync_run(target_id, id);

CREATE TABLE verification_run (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    target_id   INTEGER NOT NULL REFERENCES target(id) ON DELETE CASCADE,
    sync_run_id INTEGER REFERENCES sync_run(id) ON DELETE SET NULL,
    categories  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running', 'passed', 'failed')),
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    passed      INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX verification_run_target ON verification_run(target_id, id);

CREATE TABLE verification_result (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      INTEGER NOT NULL REFERENCES verification_run(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    name        TEXT NOT NULL,
    category    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('passed', 'failed', 'skipped')),
    duration_ms INTEGER NOT NULL,
    output      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX verification_result_run ON verification_result(run_id, seq);
