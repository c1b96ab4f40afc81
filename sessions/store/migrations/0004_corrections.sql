-- Correction rules applied to streamed model output, and the audit trail of what they changed.
CREATE TABLE correction_rule (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pattern TEXT NOT NULL,
    replacement TEXT NOT NULL,
    regex INTEGER NOT NULL DEFAULT 0,
    scope TEXT NOT NULL DEFAULT 'text' CHECK (scope IN ('text', 'reasoning', 'tool_arguments')),
    model TEXT NOT NULL DEFAULT '*',
    priority INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    mode TEXT NOT NULL DEFAULT 'apply' CHECK (mode IN ('apply', 'shadow')),
    hits INTEGER NOT NULL DEFAULT 0,
    description TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);

CREATE TABLE correction_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id TEXT NOT NULL,           -- a correction_rule id, or 'builtin:tool-repair'
    session_id TEXT,                 -- the chat session, when the stream belonged to one
    request_id TEXT,                 -- the proxy request, when it came through opencode proxy
    model TEXT NOT NULL DEFAULT '',
    scope TEXT NOT NULL,
    mode TEXT NOT NULL,
    before_excerpt TEXT NOT NULL,
    after_excerpt TEXT NOT NULL,
    before_sha256 TEXT NOT NULL,
    after_sha256 TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX correction_log_created ON correction_log (created_at);
CREATE INDEX correction_log_rule ON correction_log (rule_id, created_at);
