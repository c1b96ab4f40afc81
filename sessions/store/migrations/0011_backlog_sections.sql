-- The last imported backlog file, so that an export gives it back: its text (mojibake
-- repaired) and where each imported item's lines are in it. Free-form sections, the title
-- with its date and bullet lists stay as written; only items that changed are re-rendered.
CREATE TABLE backlog_document (
    id          INTEGER PRIMARY KEY,
    path        TEXT NOT NULL,
    text        TEXT NOT NULL,
    -- JSON list of {"item_id", "start", "end" (1-based lines), "kind" ("block"|"line"),
    -- "section" (status of the enclosing ## heading), "struck", "fields" (as the file says)}
    spans       TEXT NOT NULL,
    imported_at REAL NOT NULL
);
