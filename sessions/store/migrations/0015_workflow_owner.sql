-- Which process owns a running workflow run, beyond its pid: "BOOT_ID:START_TICKS" (the boot's
-- id and field 22 of /proc/PID/stat), so a pid reused after the owner died (or after a reboot)
-- is not taken for the owner still running. NULL where /proc is missing (pid only, as before)
-- and on rows written before this migration.
ALTER TABLE workflow_run ADD COLUMN owner_start TEXT;
