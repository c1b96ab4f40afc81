-- Rewind: which step made each file change, the file as that step left it, rewound marks.
-- (0006 and 0007 are placeholders on this branch for the migrations reserved before it.)
ALTER TABLE file_change ADD COLUMN message_id TEXT;
ALTER TABLE file_change ADD COLUMN part_id TEXT;
-- sha256 hex of the file as the step left it; '' when the step left it absent; NULL unknown
-- (rows from before this migration, a step that crashed before it was hashed).
ALTER TABLE file_change ADD COLUMN after_hash TEXT;
-- 'tool' (write/edit record their own before-image) or 'bash' (found by the snapshot diff).
ALTER TABLE file_change ADD COLUMN source TEXT NOT NULL DEFAULT 'tool';
ALTER TABLE file_change ADD COLUMN rewound_at REAL;
-- A rewound message stays in the store (nothing is lost) but leaves history and transcripts.
ALTER TABLE message ADD COLUMN rewound_at REAL;
