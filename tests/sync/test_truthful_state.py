"""Sync state that tells the truth: per-component versions (a docs-only sync does not make stale
code current), a dirty source refused or recorded as dirty, and a failed pip install that shows
pip's reason and keeps its full log with the run. Real git, a real venv, real pip."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from opencode.commands.registry import CommandContext
from opencode.commands.sync.pyenv import pip_excerpt
from tests.sync.conftest import call, commit, git, write
from tests.sync.test_site_packages import CLI_V2


@pytest.fixture
def clean_venv(venv_python: str) -> str:
    subprocess.run(
        [venv_python, "-m", "pip", "uninstall", "-y", "-q", "tinypkg"],
        capture_output=True,
        check=False,
    )
    return venv_python


async def _add(ctx: CommandContext, target: Path, python: str) -> None:
    result = await call(
        ctx, "target", "add", "web", "--path", str(target), "--type", "site-packages",
        "--python", python,
    )  # fmt: skip
    assert result.exit_code == 0, result.text


async def test_docs_sync_leaves_stale_code_behind(
    ctx: CommandContext, source_repo: Path, target_dir: Path, clean_venv: str
) -> None:
    await _add(ctx, target_dir, clean_venv)
    first = await call(ctx, "sync", "run", "web", "--no-verify")
    assert first.exit_code == 0, first.text
    old_head = git(source_repo, "rev-parse", "HEAD")
    write(source_repo / "src/tinypkg/cli.py", CLI_V2)
    write(source_repo / "docs/api.md", "# API v2\n")
    new_head = commit(source_repo, "code and docs v2")

    docs = await call(ctx, "sync", "docs", "web")
    assert docs.exit_code == 0, docs.text
    assert "not current" in docs.text and "code at" in docs.text

    entry = (await call(ctx, "sync", "status")).data["targets"][0]
    assert entry["status"] == "needs_sync"
    assert entry["behind"] is True
    assert entry["stale_components"] == ["code", "plans", "rag", "config"]
    assert entry["components"]["docs"]["sync_commit"] == new_head
    assert entry["components"]["code"]["sync_commit"] == old_head
    assert entry["sync_commit"] == old_head  # did not jump to HEAD

    detect = await call(ctx, "sync", "detect")
    assert detect.data["requires_sync"] is True
    assert detect.data["since"] == old_head
    assert any(r["category"] != "docs" for r in detect.data["changes"])

    full = await call(ctx, "sync", "run", "web", "--no-verify")
    assert full.exit_code == 0, full.text
    entry = (await call(ctx, "sync", "status")).data["targets"][0]
    assert entry["status"] == "synchronized" and entry["behind"] is False
    assert entry["stale_components"] == []
    assert {c["sync_commit"] for c in entry["components"].values()} == {new_head}


async def test_dirty_source_is_refused_then_recorded(
    ctx: CommandContext, source_repo: Path, target_dir: Path, clean_venv: str
) -> None:
    await _add(ctx, target_dir, clean_venv)
    write(source_repo / "src/tinypkg/cli.py", CLI_V2)  # modified, not committed
    write(source_repo / "notes.txt", "scratch\n")  # untracked
    refused = await call(ctx, "sync", "run", "web", "--no-verify")
    assert refused.exit_code == 2
    message = refused.text or ""
    assert "uncommitted changes" in message and "--allow-dirty" in message
    assert "src/tinypkg/cli.py" in message and "notes.txt" in message
    assert not list(target_dir.glob("opencode/**/*.md"))  # nothing was written

    head = git(source_repo, "rev-parse", "HEAD")
    result = await call(ctx, "sync", "run", "web", "--no-verify", "--allow-dirty")
    assert result.exit_code == 0, result.text
    version = result.data["sync_version"]
    assert version.startswith(f"{head[:12]}-dirty+") and len(version) == 12 + 7 + 12
    installed = Path(clean_venv).parent.parent / "lib"
    cli = next(installed.glob("python3*/site-packages/tinypkg/cli.py"))
    assert cli.read_text() == CLI_V2  # the uncommitted code is what got installed
    entry = (await call(ctx, "sync", "status")).data["targets"][0]
    assert entry["status"] == "needs_sync" and entry["behind"] is True
    assert entry["components"]["code"]["dirty"] is True
    assert entry["components"]["code"]["sync_version"] == version
    assert "uncommitted" in entry["status_reason"]

    # a different dirty tree gets a different label
    write(source_repo / "notes.txt", "other scratch\n")
    again = await call(ctx, "sync", "run", "web", "--no-verify", "--allow-dirty")
    assert again.data["sync_version"] != version


async def test_pip_failure_shows_reason_and_keeps_log(
    ctx: CommandContext, source_repo: Path, target_dir: Path, clean_venv: str
) -> None:
    await _add(ctx, target_dir, clean_venv)
    pyproject = source_repo / "pyproject.toml"
    write(pyproject, pyproject.read_text().replace("setuptools.build_meta", "no_such_backend"))
    commit(source_repo, "break the build")
    result = await call(ctx, "sync", "run", "web", "--no-verify")
    assert result.exit_code == 1
    error = result.data["error"]
    assert "no_such_backend" in error
    assert '  File "' not in error  # traceback frames are noise; the reason lines stay
    run_id = result.data["sync_run_id"]
    assert f"opencode sync show {run_id}" in error
    shown = await call(ctx, "sync", "show", str(run_id))
    assert shown.data["status"] == "failed"
    log = shown.data["log"]
    assert "no_such_backend" in log and len(log) > len(error)
    assert "full pip output" in shown.text


def test_pip_excerpt_keeps_error_lines_and_context() -> None:
    noise = [f"  building step {i}" for i in range(300)]
    output = "\n".join(
        [*noise, "  compiling foo.c", "  foo.c:3: undefined symbol bar",
         "ERROR: Failed building wheel for foo", *noise[:5],
         "ERROR: Could not build wheels for foo"]
    )  # fmt: skip
    excerpt = pip_excerpt(output)
    assert "undefined symbol bar" in excerpt
    assert "Failed building wheel" in excerpt and "Could not build wheels" in excerpt
    assert "building step 10\n" not in excerpt
    assert len(excerpt.splitlines()) < 25
    # no ERROR line at all: the end of the output, not nothing
    assert pip_excerpt("a\nb\nlast words").endswith("last words")


@pytest.mark.parametrize("kind", ["site-packages", "source"])
async def test_sync_leaves_source_checkout_untouched(
    ctx: CommandContext, source_repo: Path, target_dir: Path, clean_venv: str, kind: str
) -> None:
    result = await call(
        ctx, "target", "add", "web", "--path", str(target_dir), "--type", kind,
        "--python", clean_venv,
    )  # fmt: skip
    assert result.exit_code == 0, result.text
    before = sorted(str(p.relative_to(source_repo)) for p in source_repo.rglob("*"))
    synced = await call(ctx, "sync", "run", "web", "--no-verify")
    assert synced.exit_code == 0, synced.text
    # --ignored: the fixture's .gitignore hides build/ and *.egg-info from a plain status
    assert git(source_repo, "status", "--porcelain", "--ignored") == ""
    after = sorted(str(p.relative_to(source_repo)) for p in source_repo.rglob("*"))
    assert [p for p in after if p not in before and not p.startswith(".git/")] == []
    site = next((Path(clean_venv).parent.parent / "lib").glob("python3*/site-packages"))
    assert list(site.glob("tinypkg*"))  # it did install


async def test_verify_compares_installed_code_with_synced_commit(
    ctx: CommandContext, source_repo: Path, target_dir: Path, clean_venv: str
) -> None:
    await _add(ctx, target_dir, clean_venv)
    synced = await call(ctx, "sync", "run", "web", "--tests", "core")
    assert synced.exit_code == 0, synced.text
    checks = {c["name"]: c for c in synced.data["verification"]["checks"]}
    assert checks["code matches source"]["status"] == "passed", checks
    assert "2 installed file(s) compared" in checks["code matches source"]["output"]

    # someone edits the installed code by hand: verify now says so, naming the file
    site = next((Path(clean_venv).parent.parent / "lib").glob("python3*/site-packages"))
    (site / "tinypkg/cli.py").write_text(CLI_V2)
    verify = await call(ctx, "sync", "verify", "web", "--tests", "core")
    assert verify.exit_code == 1
    checks = {c["name"]: c for c in verify.data["checks"]}
    assert checks["code matches source"]["status"] == "failed"
    assert "tinypkg/cli.py differs" in checks["code matches source"]["output"]
