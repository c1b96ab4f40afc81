-- RAG: searchable notes. Files under RAG/ and [rag] paths are mirrored here (kept current by
-- content hash); notes added with `opencode rag add` live only here. rag_fts is an external-
-- content FTS5 index over title/body, kept in step by the triggers below.
CREATE TABLE rag_doc (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('file', 'note')),
    path TEXT,                       -- absolute path of an indexed file; NULL for a note
    anchor TEXT NOT NULL DEFAULT '', -- the section of the file (markdown heading slug)
    root TEXT NOT NULL DEFAULT '',   -- the indexed folder a file came from
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    sha256 TEXT NOT NULL,            -- of the whole file (or note): unchanged files are skipped
    mtime_ns INTEGER NOT NULL DEFAULT 0, -- a file whose size and mtime match is not even read
    size INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);

CREATE UNIQUE INDEX rag_doc_path ON rag_doc(path, anchor) WHERE path IS NOT NULL;

CREATE VIRTUAL TABLE rag_fts USING fts5(
    title, body, content='rag_doc', content_rowid='id', tokenize='porter unicode61'
);

CREATE TRIGGER rag_doc_ai AFTER INSERT ON rag_doc BEGIN
    INSERT INTO rag_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END;

CREATE TRIGGER rag_doc_ad AFTER DELETE ON rag_doc BEGIN
    INSERT INTO rag_fts(rag_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;

CREATE TRIGGER rag_doc_au AFTER UPDATE ON rag_doc BEGIN
    INSERT INTO rag_fts(rag_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO rag_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END;
