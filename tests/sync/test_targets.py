"""Target registry commands against a real SQLite file and real folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.commands.registry import REGISTRY, CommandContext, UsageError
from tests.sync.conftest import call, write

LIST_KEYS = {
    "name",
    "path",
    "type",
    "status",
    "last_sync",
    "sync_version",
    "python",
    "test_command",
}


async def test_add_list_update_remove(ctx: CommandContext, target_dir: Path) -> None:
    added = await call(
        ctx,
        "target",
        "add",
        "web",
        "--path",
        str(target_dir),
        "--type",
        "source",
        "--test-command",
        "true",
    )
    assert added.exit_code == 0, added.text
    assert added.changed == frozenset({"target"})
    listed = await call(ctx, "target", "list")
    assert len(listed.data) == 1
    row = listed.data[0]
    assert LIST_KEYS <= set(row)
    assert (row["name"], row["type"], row["status"], row["test_command"]) == (
        "web",
        "source",
        "unknown",
        "true",
    )
    assert row["path"] == str(target_dir.resolve())

    updated = await call(ctx, "target", "update", "web", "--status", "needs_sync")
    assert updated.data["status"] == "needs_sync"
    removed = await call(ctx, "target", "remove", "--target", "web")
    assert removed.exit_code == 0
    assert (await call(ctx, "target", "list")).data == []


async def test_missing_path_writes_nothing(ctx: CommandContext, tmp_path: Path) -> None:
    result = await call(
        ctx, "target", "add", "ghost", "--path", str(tmp_path / "nope"), "--type", "source"
    )
    assert result.exit_code == 1
    assert "does not exist" in (result.text or "") and "nope" in (result.text or "")
    assert (await call(ctx, "target", "list")).data == []


async def test_folder_that_is_not_a_project(ctx: CommandContext, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    write(empty / "notes.txt", "hello")
    result = await call(ctx, "target", "add", "e", "--path", str(empty), "--type", "source")
    assert result.exit_code == 1
    assert "does not look like a project" in (result.text or "")
    assert (await call(ctx, "target", "list")).data == []


async def test_site_packages_needs_python(ctx: CommandContext, target_dir: Path) -> None:
    result = await call(
        ctx, "target", "add", "sp", "--path", str(target_dir), "--type", "site-packages"
    )
    assert result.exit_code == 1
    assert "--python" in (result.text or "")
    bad = await call(
        ctx,
        "target",
        "add",
        "sp",
        "--path",
        str(target_dir),
        "--type",
        "site-packages",
        "--python",
        str(target_dir / "nopython"),
    )
    assert bad.exit_code == 1 and "nopython" in (bad.text or "")
    assert (await call(ctx, "target", "list")).data == []


async def test_duplicate_name(ctx: CommandContext, target_dir: Path) -> None:
    first = await call(ctx, "target", "add", "web", "--path", str(target_dir), "--type", "source")
    assert first.exit_code == 0
    again = await call(ctx, "target", "add", "web", "--path", str(target_dir), "--type", "source")
    assert again.exit_code == 1 and "already exists" in (again.text or "")


def test_usage_errors() -> None:
    with pytest.raises(UsageError) as bad_choice:
        REGISTRY.parse(["target", "add", "x", "--path", "p", "--type", "bogus"])
    assert "invalid choice" in str(bad_choice.value) and "--type" in str(bad_choice.value)
    with pytest.raises(UsageError):
        REGISTRY.parse(["target", "restore", "web", "--backup", "notanumber"])
    with pytest.raises(UsageError):
        REGISTRY.parse(["sync", "frobnicate"])
    with pytest.raises(UsageError):
        REGISTRY.parse(["sync", "rollback", "web", "--component", "kernel"])


def test_slash_and_option_forms_fill_the_same_argument() -> None:
    slash_cmd, slash = REGISTRY.parse_slash("/sync run web")
    shell_cmd, shell = REGISTRY.parse(["sync", "run", "--target", "web"])
    assert slash_cmd is shell_cmd
    assert slash["target"] == shell["target"] == "web"


async def test_unknown_target(ctx: CommandContext) -> None:
    result = await call(ctx, "target", "backups", "nobody")
    assert result.exit_code == 1 and "no target named 'nobody'" in (result.text or "")


async def test_tag_requires_synchronized(ctx: CommandContext, target_dir: Path) -> None:
    await call(ctx, "target", "add", "web", "--path", str(target_dir), "--type", "source")
    refused = await call(ctx, "target", "tag", "web", "--version", "v1.0.0")
    assert refused.exit_code == 1 and "not synchronized" in (refused.text or "")
    skipped = await call(ctx, "target", "tag", "--all", "--version", "v1.0.0")
    assert skipped.data == {"version": "v1.0.0", "tagged": [], "skipped": ["web"]}
