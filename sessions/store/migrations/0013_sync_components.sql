-- Target sync per component: the commit and version label each component (code, docs, plans,
-- rag, config) of a target was last synced to, so a docs-only sync cannot make a target with
-- stale code look current. A target is current only when every component is at the source HEAD.
CREATE TABLE target_component (
    target_id     INTEGER NOT NULL REFERENCES target(id) ON DELETE CASCADE,
    component     TEXT NOT NULL CHECK (component IN ('code', 'docs', 'plans', 'rag', 'config')),
    sync_commit   TEXT NOT NULL,
    -- git describe, or <sha>-dirty+<hash of the diff> for a sync with --allow-dirty
    sync_version  TEXT NOT NULL,
    dirty         INTEGER NOT NULL DEFAULT 0,
    synced_at     TEXT NOT NULL,
    PRIMARY KEY (target_id, component)
);

-- Targets synced before this table existed were synced whole: every component at sync_commit.
INSERT INTO target_component (target_id, component, sync_commit, sync_version, dirty, synced_at)
SELECT t.id, c.component, t.sync_commit, COALESCE(t.sync_version, t.sync_commit), 0,
       COALESCE(t.last_sync, t.updated_at)
FROM target AS t,
     (SELECT 'code' AS component UNION ALL SELECT 'docs' UNION ALL SELECT 'plans'
      UNION ALL SELECT 'rag' UNION ALL SELECT 'config') AS c
WHERE t.sync_commit IS NOT NULL;

-- The full output of the sync's pip install (the error shown keeps only the lines that matter).
ALTER TABLE sync_run ADD COLUMN log TEXT;

-- The files a sync installed into a target (docs, plans, RAG) with the sha256 written, so a
-- file deleted in the source is removed from the target, and only if opencode put it there
-- and nobody changed it since.
CREATE TABLE target_file (
    target_id   INTEGER NOT NULL REFERENCES target(id) ON DELETE CASCADE,
    component   TEXT NOT NULL,
    path        TEXT NOT NULL,          -- absolute
    sha256      TEXT NOT NULL,
    PRIMARY KEY (target_id, path)
);
