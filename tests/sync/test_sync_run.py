"""`sync run` / verify / rollback / restore on a source-type target without a Python
(docs, plans, RAG and config only): fast, real files, real git, real subprocess checks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from opencode.commands.registry import CommandContext
from tests.sync.conftest import TARGET_TOML, call, commit, tree_hashes, write


async def _add(ctx: CommandContext, target: Path, test_command: str = "true") -> None:
    result = await call(
        ctx,
        "target",
        "add",
        "web",
        "--path",
        str(target),
        "--type",
        "source",
        "--test-command",
        test_command,
    )
    assert result.exit_code == 0, result.text


async def test_sync_copies_merges_verifies(
    ctx: CommandContext, source_repo: Path, target_dir: Path
) -> None:
    await _add(ctx, target_dir)
    result = await call(ctx, "sync", "run", "web")
    assert result.exit_code == 0, result.text
    data = result.data
    assert data["result"] == "synchronized"
    assert data["changes"]["copied"] == {"docs": 3, "plans": 1, "rag": 1}
    dest = target_dir / "opencode"
    assert (dest / "docs/guide.md").read_bytes() == (source_repo / "docs/guide.md").read_bytes()
    assert (dest / "RAG/troubleshooting/errors.md").is_file()
    assert (dest / "README.md").is_file()

    merged = (target_dir / "opencode.toml").read_text()
    assert merged.startswith(TARGET_TOML.rstrip("\n").split("\n[")[0])  # head kept verbatim
    assert 'model = "ollama/llama3"   # the target\'s model stays' in merged
    assert "proxy.example" in merged and "[provider.vllm2]" in merged
    assert 'grep = "on"' in merged and 'read = "off"' in merged
    assert "data_dir" not in merged and "log_level" not in merged
    assert "max_steps = 30" in merged

    verification = data["verification"]
    assert verification["status"] == "passed", verification
    names = {c["name"]: c["status"] for c in verification["checks"]}
    assert names["docs complete"] == names["rag complete"] == "passed"
    assert names["no broken links"] == "passed"
    assert names["config loads"] == "passed"
    assert names["target tests"] == "passed"
    assert names["cli --help"] == "skipped"  # no --python for this target

    status = await call(ctx, "sync", "status")
    entry = status.data["targets"][0]
    assert entry["status"] == "synchronized" and entry["behind"] is False
    assert entry["last_verification"]["status"] == "passed"
    assert entry["sync_version"] == status.data["source_version"]

    # a second sync copies nothing; after one doc changes, exactly that file
    again = await call(ctx, "sync", "run", "web")
    assert again.data["changes"]["copied"] == {}
    write(source_repo / "docs/api.md", "# API v2\n\n[back](guide.md)\n")
    commit(source_repo, "api v2")
    assert (await call(ctx, "sync", "status")).data["targets"][0]["behind"] is True
    third = await call(ctx, "sync", "run", "--target", "web")
    assert third.data["changes"]["copied"] == {"docs": 1}
    assert third.data["changes"]["detected"][0]["files"] == [
        {"path": "docs/api.md", "status": "modified"}
    ]


async def test_broken_link_fails_verification(
    ctx: CommandContext, source_repo: Path, target_dir: Path
) -> None:
    write(
        source_repo / "docs/guide.md", "# Guide\n\n[gone](missing.md)\n\n```\n[x](nope.md)\n```\n"
    )
    commit(source_repo, "broken link")
    await _add(ctx, target_dir)
    result = await call(ctx, "sync", "run", "web", "--no-verify")
    assert result.exit_code == 0
    verify = await call(ctx, "sync", "verify", "web", "--tests", "docs")
    assert verify.exit_code == 1
    check = next(c for c in verify.data["checks"] if c["name"] == "no broken links")
    assert check["status"] == "failed"
    assert "guide.md:3: missing.md" in check["output"]
    assert "nope.md" not in check["output"]  # inside a code block
    assert {c["category"] for c in verify.data["checks"]} == {"docs"}


async def test_failing_verification_restores_everything(
    ctx: CommandContext, source_repo: Path, target_dir: Path
) -> None:
    write(target_dir / "opencode/docs/guide.md", "# the target's older guide\n")
    before = tree_hashes(target_dir)
    await _add(ctx, target_dir, test_command="echo target suite broke; exit 3")
    result = await call(ctx, "sync", "run", "web")
    assert result.exit_code == 1
    assert result.data["result"] == "failed" and result.data["step"] == "verify"
    assert "target tests" in result.data["error"]
    assert result.data["restored"]["verified"] is True
    assert tree_hashes(target_dir) == before  # byte-identical, new files removed
    target = (await call(ctx, "target", "list")).data[0]
    assert target["status"] == "failed"
    assert "verification" in target["status_reason"]
    shown = await call(ctx, "verify", "show", str(result.data["verification"]["id"]))
    tests = next(c for c in shown.data["checks"] if c["name"] == "target tests")
    assert "target suite broke" in tests["output"] and "(exit 3)" in tests["output"]
    rows = (
        sqlite3.connect(ctx.store.path)
        .execute("SELECT status, error, backup_id FROM sync_run")
        .fetchall()
    )
    assert rows[0][0] == "failed" and rows[0][2] == result.data["backup_id"]


async def test_invalid_target_config_writes_nothing(ctx: CommandContext, target_dir: Path) -> None:
    write(target_dir / "opencode.toml", 'model = "x"\n[provider\n')
    before = tree_hashes(target_dir)
    await _add(ctx, target_dir)
    result = await call(ctx, "sync", "run", "web")
    assert result.exit_code == 1
    assert f"{target_dir / 'opencode.toml'}:2" in (result.text or "")
    assert "nothing was changed" in (result.text or "")
    assert tree_hashes(target_dir) == before
    assert (await call(ctx, "target", "backups", "web")).data == []


async def test_unreadable_target_config(ctx: CommandContext, target_dir: Path) -> None:
    (target_dir / "opencode.toml").write_bytes(b'model = "\xff\xfe"\n')
    await _add(ctx, target_dir)
    result = await call(ctx, "sync", "run", "web")
    assert result.exit_code == 1
    assert "cannot read target config" in (result.text or "")
    assert not (target_dir / "opencode").exists()


async def test_target_path_gone(ctx: CommandContext, target_dir: Path) -> None:
    await _add(ctx, target_dir)
    target_dir.rename(target_dir.with_name("moved"))
    result = await call(ctx, "sync", "run", "web")
    assert result.exit_code == 1 and "does not exist" in (result.text or "")


async def test_rollback_one_component(
    ctx: CommandContext, source_repo: Path, target_dir: Path
) -> None:
    await _add(ctx, target_dir)
    write(target_dir / "opencode/docs/guide.md", "# old guide\n")
    write(target_dir / "opencode/plans/plan.md", "# old plan\n")
    old_guide = (target_dir / "opencode/docs/guide.md").read_bytes()
    result = await call(ctx, "sync", "run", "web")
    assert result.exit_code == 0, result.text
    merged_config = (target_dir / "opencode.toml").read_bytes()

    rolled = await call(ctx, "sync", "rollback", "web", "--component", "docs")
    assert rolled.exit_code == 0, rolled.text
    assert rolled.data["verified"] is True
    assert (target_dir / "opencode/docs/guide.md").read_bytes() == old_guide
    assert not (target_dir / "opencode/docs/api.md").exists()  # created by the sync
    # other components untouched
    assert (target_dir / "opencode/plans/plan.md").read_bytes() == (
        source_repo / "plans/plan.md"
    ).read_bytes()
    assert (target_dir / "opencode.toml").read_bytes() == merged_config

    config_back = await call(ctx, "sync", "rollback", "web", "--component", "config")
    assert (target_dir / "opencode.toml").read_text() == TARGET_TOML
    assert config_back.data["restored"] == 1
    assert (await call(ctx, "target", "list")).data[0]["status"] == "needs_sync"


async def test_backup_and_restore_snapshot(
    ctx: CommandContext, source_repo: Path, target_dir: Path
) -> None:
    await _add(ctx, target_dir)
    assert (await call(ctx, "sync", "run", "web")).exit_code == 0
    before = tree_hashes(target_dir)
    backup = await call(ctx, "target", "backup", "web")
    assert backup.exit_code == 0, backup.text
    assert backup.data["file_count"] == 6  # 2 docs + README, plan, RAG, config
    # damage: edit, delete, add
    write(target_dir / "opencode/docs/guide.md", "vandalised")
    (target_dir / "opencode/RAG/troubleshooting/errors.md").unlink()
    write(target_dir / "opencode/plans/stray.md", "stray")
    restored = await call(ctx, "target", "restore", "web", "--backup", str(backup.data["id"]))
    assert restored.exit_code == 0, restored.text
    assert restored.data["verified"] is True and restored.data["removed"] == 1
    assert (restored.data["restored"], restored.data["unchanged"]) == (2, 4)
    assert tree_hashes(target_dir) == before
    listing = await call(ctx, "target", "backups", "web")
    assert [b["reason"] for b in listing.data] == ["manual", "sync"]
    missing = await call(ctx, "target", "restore", "web", "--backup", "999")
    assert missing.exit_code == 1 and "no backup 999" in (missing.text or "")


async def test_doc_commands_complete(
    ctx: CommandContext, source_repo: Path, target_dir: Path
) -> None:
    await _add(ctx, target_dir)
    first = await call(ctx, "sync", "plans", "web")
    assert first.data["changes"]["copied"] == {"plans": 1}
    assert not (target_dir / "opencode/docs").exists()
    unchanged = await call(ctx, "sync", "plans", "web")
    assert unchanged.data["changes"]["copied"] == {}
    complete = await call(ctx, "sync", "plans", "web", "--complete")
    assert complete.data["changes"]["copied"] == {"plans": 1}
    docs = await call(ctx, "sync", "docs", "web", "--complete")
    assert docs.data["changes"]["copied"] == {"docs": 3}


async def test_verify_list_and_show_shapes(ctx: CommandContext, target_dir: Path) -> None:
    await _add(ctx, target_dir)
    await call(ctx, "sync", "run", "web")
    await call(ctx, "sync", "verify", "web", "--tests", "feature,docs")
    runs = (await call(ctx, "verify", "list", "--target", "web")).data
    assert len(runs) == 2
    newest = runs[0]
    assert {
        "id",
        "target",
        "status",
        "started_at",
        "finished_at",
        "passed",
        "failed",
        "checks",
    } <= set(newest)
    assert [c["category"] for c in newest["checks"]][0] == "docs"
    for check in newest["checks"]:
        assert set(check) == {"name", "category", "status", "duration_ms", "output"}
    shown = await call(ctx, "verify", "show", str(newest["id"]))
    assert shown.data == newest
    bad = await call(ctx, "sync", "verify", "web", "--tests", "core,bogus")
    assert bad.exit_code == 1 and "bogus" in (bad.text or "")


async def test_all_targets_goes_on_past_a_broken_one(
    ctx: CommandContext, source_repo: Path, target_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "api"
    write(other / "pyproject.toml", "[project]\nname = 'api'\n")
    await _add(ctx, target_dir)
    added = await call(ctx, "target", "add", "api", "--path", str(other), "--type", "source")
    assert added.exit_code == 0
    other.rename(tmp_path / "api-moved")
    result = await call(ctx, "sync", "run", "--all-targets", "--tests", "docs")
    assert result.exit_code == 1
    by_name = {r["target"]: r for r in result.data}
    assert by_name["web"]["result"] == "synchronized"
    assert by_name["api"]["result"] == "failed" and "does not exist" in by_name["api"]["error"]
    assert "api: FAILED before any change" in (result.text or "")
    both = await call(ctx, "sync", "run", "web", "--all-targets")
    assert both.exit_code == 2 and "not both" in (both.text or "")


async def test_rollback_undoes_the_last_sync_not_the_first(
    ctx: CommandContext, source_repo: Path, target_dir: Path
) -> None:
    await _add(ctx, target_dir)
    assert (await call(ctx, "sync", "run", "web")).exit_code == 0
    api_v1 = (target_dir / "opencode/docs/api.md").read_bytes()
    write(source_repo / "docs/api.md", "# API v2\n")
    commit(source_repo, "api v2")
    second = await call(ctx, "sync", "run", "web")
    assert second.data["changes"]["copied"] == {"docs": 1}
    await call(ctx, "target", "backup", "web")  # a newer manual snapshot must not be chosen
    rolled = await call(ctx, "sync", "rollback", "web", "--component", "docs")
    assert rolled.data["backup_id"] == second.data["backup_id"]
    assert (target_dir / "opencode/docs/api.md").read_bytes() == api_v1
    assert (target_dir / "opencode/docs/guide.md").is_file()  # the first sync's files stay


async def test_backup_failure_changes_nothing(
    ctx: CommandContext, source_repo: Path, target_dir: Path, tmp_path: Path
) -> None:
    await _add(ctx, target_dir)
    before = tree_hashes(target_dir)
    # the data dir's backups folder is a file: the backup cannot be written
    ctx.config.data_dir = tmp_path / "data2"
    write(ctx.config.data_dir / "backups", "not a folder")
    result = await call(ctx, "sync", "run", "web")
    assert result.exit_code == 1
    assert "backup failed before any change" in (result.text or "")
    assert tree_hashes(target_dir) == before
    status = (await call(ctx, "sync", "status")).data["targets"][0]
    assert status["interrupted_run"] is None and status["status"] != "failed"


async def test_config_diff_then_merge(ctx: CommandContext, target_dir: Path) -> None:
    await _add(ctx, target_dir)
    diff = await call(ctx, "sync", "config", "web", "--diff")
    assert diff.exit_code == 0
    assert (target_dir / "opencode.toml").read_text() == TARGET_TOML  # nothing written
    assert set(diff.data["added"]) == {"max_steps", "provider.vllm2", "tools.grep"}
    assert "+[provider.vllm2]" in diff.data["diff"]
    assert not any(
        line.startswith("-") and not line.startswith("---")
        for line in diff.data["diff"].splitlines()
    )  # only additions
    applied = await call(ctx, "sync", "config", "web")
    assert applied.exit_code == 0 and applied.data["changes"]["config_added"]
    again = await call(ctx, "sync", "config", "web", "--diff")
    assert again.data["diff"] == "" and "up to date" in (again.text or "")


async def test_docs_categories_and_target_aliases(ctx: CommandContext, target_dir: Path) -> None:
    await _add(ctx, target_dir)
    result = await call(ctx, "sync", "docs", "web", "--categories", "plans,rag")
    assert result.data["changes"]["copied"] == {"plans": 1, "rag": 1}
    bad = await call(ctx, "sync", "docs", "web", "--categories", "kernel")
    assert bad.exit_code == 2
    verify = await call(ctx, "target", "verify", "web", "--tests", "docs")
    assert verify.data["categories"] == ["docs"]
    rolled = await call(ctx, "target", "rollback", "web", "--component", "rag")
    assert rolled.exit_code == 0 and not (target_dir / "opencode/RAG/troubleshooting").exists()
