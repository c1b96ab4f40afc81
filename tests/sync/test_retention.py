"""Files deleted in the source leave the target (only files opencode installed, unchanged since),
and backups are pruned: `target prune --keep N`, `[sync] keep_backups`, `target remove`.
Real git, real target folders, real backup folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.commands.registry import CommandContext, CommandError
from tests.sync.conftest import call, commit, git, write


async def _add(ctx: CommandContext, target: Path) -> None:
    result = await call(ctx, "target", "add", "web", "--path", str(target), "--type", "source")
    assert result.exit_code == 0, result.text


async def test_deleted_source_files_leave_the_target(
    ctx: CommandContext, source_repo: Path, target_dir: Path
) -> None:
    await _add(ctx, target_dir)
    write(source_repo / "docs/old.md", "# old\n")
    write(source_repo / "docs/edited.md", "# edited\n")
    commit(source_repo, "two more docs")
    first = await call(ctx, "sync", "run", "web", "--no-verify")
    assert first.exit_code == 0, first.text
    dest = target_dir / "opencode/docs"
    # the target's own file, never installed by opencode, in the same folder
    write(dest / "local-notes.md", "# mine\n")
    write(dest / "edited.md", "# edited in the target\n")  # changed after opencode wrote it

    git(source_repo, "rm", "-q", "docs/old.md", "docs/edited.md")
    commit(source_repo, "drop two docs")
    second = await call(ctx, "sync", "docs", "web")
    assert second.exit_code == 0, second.text
    assert not (dest / "old.md").exists()
    assert (dest / "local-notes.md").read_text() == "# mine\n"
    assert (dest / "edited.md").read_text() == "# edited in the target\n"
    assert second.data["changes"]["removed"] == [str(dest / "old.md")]
    assert second.data["changes"]["kept_modified"] == [str(dest / "edited.md")]

    # the removal is undone by a rollback, like every other change of the sync
    rolled = await call(ctx, "sync", "rollback", "web", "--component", "docs")
    assert rolled.exit_code == 0, rolled.text
    assert (dest / "old.md").read_text() == "# old\n"


async def test_prune_keeps_newest_and_remove_deletes_backups(
    ctx: CommandContext, source_repo: Path, target_dir: Path
) -> None:
    await _add(ctx, target_dir)
    ids = []
    for _ in range(4):
        backup = await call(ctx, "target", "backup", "web")
        assert backup.exit_code == 0, backup.text
        ids.append(backup.data["id"])
    folder = Path(backup.data["dir"])
    pruned = await call(ctx, "target", "prune", "web", "--keep", "2")
    assert pruned.exit_code == 0, pruned.text
    assert sorted(pruned.data["deleted"]) == ids[:2]
    assert sorted(pruned.data["kept"]) == ids[2:]
    assert sorted(int(p.name) for p in folder.iterdir()) == ids[2:]
    listed = await call(ctx, "target", "backups", "web")
    assert sorted(b["id"] for b in listed.data) == ids[2:]

    bad = await call(ctx, "target", "prune", "web", "--keep", "-1")
    assert bad.exit_code == 2

    removed = await call(ctx, "target", "remove", "web")
    assert removed.exit_code == 0 and removed.data["backups_deleted"] == str(folder)
    assert not folder.exists()


def test_keep_backups_default_from_config(source_repo: Path) -> None:
    from opencode.commands.sync.settings import load_settings

    settings = load_settings({"keep_backups": 1}, source_repo)
    assert settings.keep_backups == 1
    assert load_settings({}, source_repo).keep_backups == 10
    with pytest.raises(CommandError, match="sync.keep_backups"):
        load_settings({"keep_backups": "ten"}, source_repo)
