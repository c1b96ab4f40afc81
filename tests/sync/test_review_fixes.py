"""Fixes from the commands/sync review: runaway subprocesses are killed with everything they
started, restores check every blob first, file modes are kept, rollback picks the last good sync."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import time
from pathlib import Path

import pytest

from opencode.commands.registry import CommandContext
from opencode.commands.sync.pyenv import run_proc
from tests.sync.conftest import call, commit, git, tree_hashes, write


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie waiting for its (new) parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _wait_dead(pid: int, within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.02)
    return False


# The background sleep keeps the shell's stdout open: killing only the shell would leave the
# read waiting 30 s for it.
_GRANDCHILD = "sleep 30 & echo grandchild $!; sleep 30; wait"


def _grandchild_pid(output: str) -> int:
    line = next(x for x in output.splitlines() if x.startswith("grandchild "))
    return int(line.split()[1])


async def test_timeout_kills_the_shell_and_its_grandchild(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = await run_proc([_GRANDCHILD], cwd=tmp_path, limit_s=1, shell=True)
    assert time.monotonic() - started < 5
    assert proc.timed_out and not proc.ok
    assert "timed out after 1 s" in proc.output
    assert _wait_dead(_grandchild_pid(proc.output))


async def test_cancelled_run_kills_the_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    command = f"sleep 30 & echo $! > {pid_file}; sleep 30; wait"
    task = asyncio.create_task(run_proc([command], cwd=tmp_path, limit_s=60, shell=True))
    for _ in range(200):
        if pid_file.is_file() and pid_file.read_text().strip():
            break
        await asyncio.sleep(0.02)
    grandchild = int(pid_file.read_text())
    task.cancel()
    started = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 3
    assert _wait_dead(grandchild)


async def test_verify_reports_a_timed_out_test_command(
    ctx: CommandContext, target_dir: Path
) -> None:
    added = await call(
        ctx, "target", "add", "web", "--path", str(target_dir), "--type", "source",
        "--test-command", _GRANDCHILD,
    )  # fmt: skip
    assert added.exit_code == 0, added.text
    ctx.config.raw.setdefault("sync", {})["test_timeout"] = 1
    started = time.monotonic()
    result = await call(ctx, "sync", "verify", "web", "--tests", "feature")
    assert time.monotonic() - started < 5
    assert result.exit_code == 1
    (check,) = result.data["checks"]
    assert check["status"] == "failed"
    assert "timed out after 1 s; raise [sync] test_timeout" in check["output"]
    assert _wait_dead(_grandchild_pid(check["output"]))


async def test_hung_git_becomes_a_command_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencode.commands.registry import CommandError
    from opencode.commands.sync import source
    from opencode.sessions import git

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(git, "GIT_TIMEOUT_S", 0.3)
    started = time.monotonic()
    with pytest.raises(CommandError, match=r"merge-base --is-ancestor a b in .* within 0.3 s"):
        await source.is_ancestor(tmp_path, "a", "b")
    with pytest.raises(CommandError, match=r"git rev-parse HEAD in .* did not finish"):
        await source.head(tmp_path)
    assert time.monotonic() - started < 3


async def _add_web(ctx: CommandContext, target: Path, test_command: str = "true") -> None:
    added = await call(
        ctx, "target", "add", "web", "--path", str(target), "--type", "source",
        "--test-command", test_command,
    )  # fmt: skip
    assert added.exit_code == 0, added.text


async def _damaged_target_and_backup(ctx: CommandContext, target_dir: Path) -> tuple[int, Path]:
    await _add_web(ctx, target_dir)
    assert (await call(ctx, "sync", "run", "web")).exit_code == 0
    backup = await call(ctx, "target", "backup", "web")
    assert backup.exit_code == 0, backup.text
    write(target_dir / "opencode/docs/guide.md", "vandalised")
    write(target_dir / "opencode/plans/stray.md", "stray")
    (target_dir / "opencode/RAG/troubleshooting/errors.md").unlink()
    blobs = sorted((ctx.config.data_dir / "backups").glob(f"*/{backup.data['id']}/blobs/*"))
    assert len(blobs) == 6
    return backup.data["id"], blobs[len(blobs) // 2]


async def test_restore_with_a_missing_blob_changes_nothing(
    ctx: CommandContext, target_dir: Path
) -> None:
    backup_id, blob = await _damaged_target_and_backup(ctx, target_dir)
    blob.unlink()
    before = tree_hashes(target_dir)
    restored = await call(ctx, "target", "restore", "web", "--backup", str(backup_id))
    assert restored.exit_code == 1
    text = restored.text or ""
    assert f"backup {backup_id} is missing" in text and blob.name in text
    assert "nothing was changed in the target" in text
    assert tree_hashes(target_dir) == before  # stray file kept, vandalised file not rewritten


async def test_restore_with_a_damaged_blob_changes_nothing(
    ctx: CommandContext, target_dir: Path
) -> None:
    backup_id, blob = await _damaged_target_and_backup(ctx, target_dir)
    blob.chmod(0o600)
    blob.write_bytes(b"bit rot")
    before = tree_hashes(target_dir)
    restored = await call(ctx, "target", "restore", "web", "--backup", str(backup_id))
    assert restored.exit_code == 1
    assert "is damaged (sha256 differs)" in (restored.text or "")
    assert tree_hashes(target_dir) == before


async def test_failed_automatic_restore_is_recorded(ctx: CommandContext, target_dir: Path) -> None:
    # the target's tests destroy the sync's backup, then fail: the automatic restore must fail
    backups = ctx.config.data_dir / "backups"
    await _add_web(ctx, target_dir, test_command=f"rm -f {backups}/*/*/blobs/*; exit 3")
    result = await call(ctx, "sync", "run", "web")
    assert result.exit_code == 1
    assert result.data["restored"] is None
    assert "is missing" in result.data["restore_error"]
    assert result.data["error"].startswith("restore failed: backup ")
    assert "and restoring backup" in (result.text or "")
    rows = sqlite3.connect(ctx.store.path).execute("SELECT status, error FROM sync_run").fetchall()
    assert len(rows) == 1 and rows[0][0] == "failed"
    assert rows[0][1].startswith("restore failed: ") and "verify" in rows[0][1]
    target = (await call(ctx, "target", "list")).data[0]
    assert target["status"] == "failed" and target["status_reason"].startswith("restore failed")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_private_config_stays_private_and_backups_are_private(
    ctx: CommandContext, target_dir: Path
) -> None:
    config = target_dir / "opencode.toml"
    config.chmod(0o600)
    await _add_web(ctx, target_dir)
    result = await call(ctx, "sync", "run", "web")
    assert result.exit_code == 0, result.text
    assert result.data["changes"]["config_added"]  # the merge did rewrite the file
    assert _mode(config) == 0o600

    backups = ctx.config.data_dir / "backups"
    folders = [backups, *(p for p in backups.rglob("*") if p.is_dir())]
    assert len(folders) >= 4  # backups/<target>/<id>/blobs
    assert {_mode(p) for p in folders} == {0o700}
    files = [p for p in backups.rglob("*") if p.is_file()]
    assert any(p.parent.name == "blobs" for p in files)
    assert any(p.name == "manifest.json" for p in files)
    assert {_mode(p) for p in files} == {0o600}

    # a rollback of the config writes the backup's mode back, not the umask's
    config.chmod(0o640)
    rolled = await call(ctx, "sync", "rollback", "web", "--component", "config")
    assert rolled.exit_code == 0, rolled.text
    assert _mode(config) == 0o600


def test_atomic_write_keeps_an_existing_mode(tmp_path: Path) -> None:
    from opencode.commands.sync.files import atomic_write

    secret = tmp_path / "secret.toml"
    secret.write_text("key = 1\n")
    secret.chmod(0o600)
    atomic_write(secret, b"key = 2\n")
    assert secret.read_bytes() == b"key = 2\n" and _mode(secret) == 0o600
    atomic_write(secret, b"key = 3\n", 0o640)
    assert _mode(secret) == 0o640
    umask = os.umask(0o022)
    try:
        atomic_write(tmp_path / "new.toml", b"x = 1\n")
    finally:
        os.umask(umask)
    assert _mode(tmp_path / "new.toml") == 0o644


async def test_rollback_skips_a_failed_and_restored_sync(
    ctx: CommandContext, source_repo: Path, target_dir: Path
) -> None:
    await _add_web(ctx, target_dir, test_command="test ! -e opencode/docs/breaks.md")
    first = await call(ctx, "sync", "run", "web")
    assert first.exit_code == 0, first.text
    write(source_repo / "docs/breaks.md", "# breaks the target's tests\n")
    commit(source_repo, "breaking doc")
    second = await call(ctx, "sync", "run", "web")
    assert second.data["result"] == "failed" and second.data["restored"]["verified"]
    assert second.data["backup_id"] != first.data["backup_id"]
    assert not (target_dir / "opencode/docs/breaks.md").exists()

    rolled = await call(ctx, "sync", "rollback", "web", "--component", "docs")
    assert rolled.exit_code == 0, rolled.text
    assert rolled.data["backup_id"] == first.data["backup_id"]
    assert not (target_dir / "opencode/docs").exists()  # as before the first sync

    everything = await call(ctx, "sync", "rollback", "web")
    assert everything.data["backup_id"] == first.data["backup_id"]


async def test_detect_when_synced_commits_are_on_merged_branches(
    ctx: CommandContext, source_repo: Path, target_dir: Path, tmp_path: Path
) -> None:
    base = git(source_repo, "rev-parse", "HEAD")
    await _add_web(ctx, target_dir)
    other = tmp_path / "api"
    write(other / "app.py", "print('api')\n")
    added = await call(ctx, "target", "add", "api", "--path", str(other), "--type", "source")
    assert added.exit_code == 0, added.text

    git(source_repo, "checkout", "-q", "-b", "feature")
    write(source_repo / "docs/feature.md", "# feature\n")
    commit(source_repo, "feature doc")
    assert (await call(ctx, "sync", "run", "web", "--no-verify")).exit_code == 0
    git(source_repo, "checkout", "-q", "main")
    write(source_repo / "plans/main.md", "# main plan\n")
    commit(source_repo, "main plan")
    assert (await call(ctx, "sync", "run", "api", "--no-verify")).exit_code == 0
    git(source_repo, "merge", "-q", "--no-ff", "-m", "merge feature", "feature")

    detected = await call(ctx, "sync", "detect")
    assert detected.exit_code == 0, detected.text
    assert detected.data["since"] == base  # the merge base: both targets' changes are in range
    paths = {f["path"] for c in detected.data["changes"] for f in c["files"]}
    assert {"docs/feature.md", "plans/main.md"} <= paths
