-- Which process owns a running sync run, beyond its pid: "BOOT_ID:START_TICKS" as for
-- workflow runs (0015, sessions/process_owner.py), so a pid reused after the owner died (or
-- after a reboot) does not hide an interrupted sync. NULL where /proc is missing (pid only)
-- and on rows written before this migration.
ALTER TABLE sync_run ADD COLUMN owner_start TEXT;
