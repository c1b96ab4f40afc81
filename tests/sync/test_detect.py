"""Change detection over a real git repository, categories, needs_sync and the checklist."""

from __future__ import annotations

from pathlib import Path

from opencode.commands.registry import CommandContext
from opencode.commands.sync.source import matches
from opencode.sessions.config import load_config
from tests.sync.conftest import call, commit, write


def test_glob_patterns() -> None:
    assert matches("RAG/troubleshooting/errors.md", "RAG/**/*.md")
    assert matches("RAG/top.md", "RAG/**/*.md")
    assert not matches("RAG/notes.txt", "RAG/**/*.md")
    assert matches("src/opencode/provider/openai.py", "src/opencode/provider/*.py")
    assert not matches("src/opencode/provider/sub/x.py", "src/opencode/provider/*.py")
    assert matches("src/opencode/cli/a/b/main.py", "src/opencode/cli/**/*.py")
    assert not matches("xdocs/a.md", "docs/**/*.md")


async def test_detect_groups_by_category_and_priority(
    ctx: CommandContext, source_repo: Path, target_dir: Path
) -> None:
    base = (await call(ctx, "sync", "status")).data["source_head"]
    await call(ctx, "target", "add", "web", "--path", str(target_dir), "--type", "source")
    write(source_repo / "src/opencode/provider/openai.py", "x = 1\n")
    write(source_repo / "docs/new.md", "# New\n")
    write(source_repo / "RAG/troubleshooting/more.md", "# More\n")
    write(source_repo / "plans/plan.md", "# Plan\n\n- step two\n")
    write(source_repo / "misc.txt", "other\n")
    (source_repo / "docs/api.md").unlink()
    commit(source_repo, "changes")

    result = await call(ctx, "sync", "detect", "--since", base)
    assert result.exit_code == 0, result.text
    by_cat = {c["category"]: c for c in result.data["changes"]}
    assert set(by_cat) == {"provider", "docs", "rag", "plans", "other"}
    assert by_cat["provider"]["priority"] == "high"
    assert by_cat["docs"]["priority"] == "medium"
    assert by_cat["other"]["files"] == [{"path": "misc.txt", "status": "added"}]
    assert {"path": "docs/api.md", "status": "deleted"} in by_cat["docs"]["files"]
    assert {"path": "plans/plan.md", "status": "modified"} == by_cat["plans"]["files"][0]
    order = [c["priority"] for c in result.data["changes"]]
    assert order == sorted(order, key=["critical", "high", "medium", "low"].index)
    # the never-synced target is behind HEAD
    listed = await call(ctx, "target", "list")
    assert listed.data[0]["status"] == "needs_sync"
    assert result.changed == frozenset({"target"})


async def test_bad_revision(ctx: CommandContext) -> None:
    result = await call(ctx, "sync", "detect", "--since", "no-such-rev")
    assert result.exit_code == 1
    assert "unknown revision 'no-such-rev'" in (result.text or "")
    dash = await call(ctx, "sync", "detect", "--since=--output=/tmp/x")
    assert dash.exit_code == 1 and "cannot start with '-'" in (dash.text or "")


async def test_source_not_a_git_repo(ctx: CommandContext, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    write(plain / "opencode.toml", '[sync]\nsource = "."\n')
    ctx.config = load_config(plain)
    ctx.cwd = plain
    result = await call(ctx, "sync", "status")
    assert result.exit_code == 1
    assert "not a git repository" in (result.text or "") and str(plain) in (result.text or "")


async def test_categories_overridable(ctx: CommandContext, source_repo: Path) -> None:
    base = (await call(ctx, "sync", "status")).data["source_head"]
    write(source_repo / "schemas/a.json", "{}\n")
    write(source_repo / "docs/x.md", "# x\n")
    commit(source_repo, "schemas")
    write(
        source_repo / "opencode.toml",
        (source_repo / "opencode.toml").read_text()
        + '\n[sync.categories]\nschemas = { patterns = ["schemas/*.json"], priority = "critical" }'
        + '\ndocs = { priority = "low" }\n',
    )
    ctx.config = load_config(source_repo)
    result = await call(ctx, "sync", "detect", "--since", base)
    cats = [(c["category"], c["priority"]) for c in result.data["changes"]]
    assert cats == [("schemas", "critical"), ("docs", "low")]


async def test_checklist_written(
    ctx: CommandContext, source_repo: Path, target_dir: Path, tmp_path: Path
) -> None:
    base = (await call(ctx, "sync", "status")).data["source_head"]
    await call(
        ctx,
        "target",
        "add",
        "web",
        "--path",
        str(target_dir),
        "--type",
        "source",
        "--test-command",
        "pytest -q",
    )
    write(source_repo / "RAG/troubleshooting/more.md", "# More\n")
    commit(source_repo, "rag")
    out = tmp_path / "check.md"
    result = await call(ctx, "sync", "checklist", "web", "--since", base, "-o", str(out))
    assert result.exit_code == 0, result.text
    text = out.read_text()
    assert text.startswith("# Sync checklist for web")
    assert "### rag — priority High (1 file)" in text
    assert "- [ ] `RAG/troubleshooting/more.md` (added)" in text
    assert "## Verification Checklist for web" in text
    assert "`tinypkg --help` runs without errors" in text
    assert "(pytest -q)" in text
    default = await call(ctx, "sync", "checklist", "--target", "web")
    assert Path(default.data["path"]).parent == ctx.config.data_dir / "checklists"
    assert "never synced" in default.data["markdown"]
