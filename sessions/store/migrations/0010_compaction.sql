-- Compaction points and imported sessions.
--
-- A compaction is a VIEW over a session, never an edit of it: messages up to and including
-- ``upto_message_id`` are still in ``message``/``part`` (readable, exportable, searchable);
-- the next request sends ``summary`` in their place, plus everything after. The newest row of
-- a session wins.
CREATE TABLE compaction (
    id              TEXT PRIMARY KEY,
    session_id      TEXT NOT NULL REFERENCES session(id) ON DELETE CASCADE,
    upto_message_id TEXT NOT NULL,
    summary         TEXT NOT NULL,
    focus           TEXT,
    model           TEXT,
    trigger         TEXT NOT NULL,  -- auto | manual
    tokens_before   INTEGER,        -- estimated tokens of the history it replaced
    tokens_after    INTEGER,
    created_at      REAL NOT NULL
);
CREATE INDEX compaction_session ON compaction(session_id, created_at);

-- Sessions brought in by `opencode session import`: the source's own id makes a second import
-- of the same file find the session instead of copying it again.
CREATE TABLE import_source (
    source      TEXT NOT NULL,   -- claude | codex | opencode
    source_id   TEXT NOT NULL,
    session_id  TEXT NOT NULL REFERENCES session(id) ON DELETE CASCADE,
    path        TEXT NOT NULL,
    imported_at REAL NOT NULL,
    PRIMARY KEY (source, source_id)
);

-- Records of a source file this version does not understand, kept verbatim (never dropped).
CREATE TABLE import_raw (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  TEXT NOT NULL REFERENCES session(id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    line        INTEGER,
    record_type TEXT NOT NULL,
    raw         TEXT NOT NULL,
    -- line + a hash of the record: a second import of the same file adds no second copy.
    key         TEXT NOT NULL,
    UNIQUE (session_id, key)
);
CREATE INDEX import_raw_session ON import_raw(session_id);
