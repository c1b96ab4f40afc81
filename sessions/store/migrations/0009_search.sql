-- Session search (FTS5) and soft delete.
--
-- part_fts holds its own copy of the searchable text (SQLite 3.40 has no contentless delete),
-- keyed by part.rowid so a delete never needs the old text. Streamed text is appended to a
-- part many times while it streams (the writer flushes every 0.2 s), so parts are indexed
-- when their message FINISHES, not on each update: a long reply costs one index write, not
-- one per flush. Parts written into an already finished message (imports, late tool
-- results) or changed after it finished are indexed by their own triggers.
CREATE VIRTUAL TABLE part_fts USING fts5(content, tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER part_fts_message_finished AFTER UPDATE OF finish ON message
WHEN old.finish IS NULL AND new.finish IS NOT NULL
BEGIN
    DELETE FROM part_fts WHERE rowid IN (SELECT rowid FROM part WHERE message_id = new.id);
    INSERT INTO part_fts (rowid, content)
        SELECT rowid, content FROM part
        WHERE message_id = new.id AND kind IN ('text', 'tool_result', 'error') AND content != '';
END;

CREATE TRIGGER part_fts_part_inserted AFTER INSERT ON part
WHEN new.kind IN ('text', 'tool_result', 'error') AND new.content != ''
    AND (SELECT finish FROM message WHERE id = new.message_id) IS NOT NULL
BEGIN
    DELETE FROM part_fts WHERE rowid = new.rowid;
    INSERT INTO part_fts (rowid, content) VALUES (new.rowid, new.content);
END;

CREATE TRIGGER part_fts_part_updated AFTER UPDATE OF content ON part
WHEN (SELECT finish FROM message WHERE id = new.message_id) IS NOT NULL
BEGIN
    DELETE FROM part_fts WHERE rowid = old.rowid;
    INSERT INTO part_fts (rowid, content)
        SELECT new.rowid, new.content
        WHERE new.kind IN ('text', 'tool_result', 'error') AND new.content != '';
END;

CREATE TRIGGER part_fts_part_deleted AFTER DELETE ON part
BEGIN
    DELETE FROM part_fts WHERE rowid = old.rowid;
END;

-- What was there before this migration: every part of a finished message.
INSERT INTO part_fts (rowid, content)
    SELECT part.rowid, part.content FROM part JOIN message ON message.id = part.message_id
    WHERE message.finish IS NOT NULL AND part.kind IN ('text', 'tool_result', 'error')
        AND part.content != '';

-- Soft delete: `session delete` sets deleted_at; list, search and -c skip such sessions until
-- `session purge` removes them for good.
ALTER TABLE session ADD COLUMN deleted_at REAL;
