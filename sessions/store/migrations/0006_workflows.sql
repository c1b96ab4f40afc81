-- Workflow runs and their steps. A run is resumable: steps whose status is 'ok' (or
-- 'skipped') are never run again; 'running' rows left by a killed process are re-run.
CREATE TABLE workflow_run (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    source TEXT NOT NULL,            -- the workflow file it was read from
    spec_sha256 TEXT NOT NULL,       -- resume refuses a file whose steps changed
    status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'interrupted')),
    cwd TEXT NOT NULL,
    pid INTEGER,
    started_at REAL NOT NULL,
    finished_at REAL,
    error TEXT NOT NULL DEFAULT ''
);

CREATE TABLE workflow_step (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES workflow_run(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('agent', 'command', 'shell')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'ok', 'failed', 'skipped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    output TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    session_id TEXT,                 -- the session an agent step ran in
    started_at REAL,
    finished_at REAL,
    UNIQUE (run_id, name)
);

CREATE INDEX workflow_step_run ON workflow_step(run_id);
