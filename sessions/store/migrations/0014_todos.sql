-- A session's todo list (the ``todowrite`` tool): the latest list the model wrote, one row per
-- item in its order. A write replaces the session's rows in one transaction (StoreWriter, on
-- ``TodosUpdated``), so a resumed session, a fork and `session show` read the list as it was.
CREATE TABLE todo (
    session_id  TEXT NOT NULL REFERENCES session(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    id          TEXT NOT NULL,
    content     TEXT NOT NULL,
    status      TEXT NOT NULL
                CHECK (status IN ('pending', 'in_progress', 'completed', 'cancelled')),
    priority    TEXT CHECK (priority IS NULL OR priority IN ('high', 'medium', 'low')),
    call_id     TEXT,           -- the todowrite call that wrote this list
    updated_at  REAL NOT NULL,
    PRIMARY KEY (session_id, position)
);
