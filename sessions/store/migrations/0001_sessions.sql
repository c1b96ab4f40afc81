-- Sessions, messages, parts and file before-images.
CREATE TABLE session (
    id          TEXT PRIMARY KEY,
    parent_id   TEXT REFERENCES session(id) ON DELETE SET NULL,
    title       TEXT NOT NULL DEFAULT '',
    cwd         TEXT NOT NULL,
    model       TEXT NOT NULL DEFAULT '',
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost        REAL NOT NULL DEFAULT 0,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);
CREATE INDEX session_cwd_updated ON session(cwd, updated_at);

CREATE TABLE message (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES session(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    model       TEXT,
    -- NULL while streaming; stop | tool_calls | length | error | interrupted | ...
    finish      TEXT,
    input_tokens  INTEGER,
    output_tokens INTEGER,
    created_at  REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX message_session ON message(session_id, id);

CREATE TABLE part (
    id          TEXT PRIMARY KEY,
    message_id  TEXT NOT NULL REFERENCES message(id) ON DELETE CASCADE,
    session_id  TEXT NOT NULL REFERENCES session(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('text', 'reasoning', 'tool_call', 'tool_result', 'error')),
    content     TEXT NOT NULL DEFAULT '',
    tool_name   TEXT,
    tool_call_id TEXT,
    tool_args   TEXT,
    -- streaming | done | interrupted | pending | running | completed | error | denied
    status      TEXT NOT NULL DEFAULT 'done',
    metadata    TEXT,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);
CREATE INDEX part_message ON part(message_id, seq);

CREATE TABLE file_change (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  TEXT NOT NULL REFERENCES session(id) ON DELETE CASCADE,
    call_id     TEXT NOT NULL,
    path        TEXT NOT NULL,
    existed     INTEGER NOT NULL,
    before      BLOB,
    created_at  REAL NOT NULL
);
CREATE INDEX file_change_session ON file_change(session_id, id);

CREATE TABLE permission_decision (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  TEXT NOT NULL REFERENCES session(id) ON DELETE CASCADE,
    tool        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    decision    TEXT NOT NULL,  -- allow_once | allow_session | deny
    created_at  REAL NOT NULL
);
