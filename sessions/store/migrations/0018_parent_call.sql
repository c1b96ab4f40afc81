-- Which ``task`` call of the parent session ran a subagent session (SessionStarted's
-- parent_call_id), so a task call interrupted before it stored its result (which names the
-- child) still finds its child when the session is reopened. NULL for top-level sessions and
-- rows written before this migration.
ALTER TABLE session ADD COLUMN parent_call_id TEXT;
CREATE INDEX session_parent_call ON session(parent_id, parent_call_id);
