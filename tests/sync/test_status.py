"""`sync status` is read-only: it shows each target's status as of the source HEAD (behind ->
needs_sync, a killed sync -> failed) and writes nothing; `sync detect` and `sync run` record it.
Also: probes run inside a target use `python -I`, so the target's folder cannot shadow imports."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from opencode.commands.registry import CommandContext
from opencode.commands.target.repo import TargetRepo
from tests.sync.conftest import call, commit, write


def _rows(ctx: CommandContext) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(ctx.store.path) as db:
        return db.execute("SELECT name, status, status_reason FROM target ORDER BY name").fetchall()


async def _add(ctx: CommandContext, target: Path) -> None:
    added = await call(
        ctx, "target", "add", "web", "--path", str(target), "--type", "source",
        "--test-command", "true",
    )  # fmt: skip
    assert added.exit_code == 0, added.text


async def test_status_shows_needs_sync_without_writing_it(
    ctx: CommandContext, source_repo: Path, target_dir: Path
) -> None:
    await _add(ctx, target_dir)
    assert (await call(ctx, "sync", "run", "web", "--no-verify")).exit_code == 0
    write(source_repo / "docs/new.md", "# New\n")
    commit(source_repo, "new doc")
    before = _rows(ctx)
    assert before[0][1] == "synchronized"

    status = await call(ctx, "sync", "status")
    assert status.exit_code == 0, status.text
    entry = status.data["targets"][0]
    assert entry["status"] == "needs_sync" and entry["behind"] is True
    assert entry["status_reason"].startswith("source HEAD ")
    assert status.tables[0].rows[0][1] == "needs_sync"
    assert status.changed == frozenset()
    assert _rows(ctx) == before  # nothing written

    detected = await call(ctx, "sync", "detect")
    assert detected.exit_code == 0, detected.text
    assert detected.changed == frozenset({"target"})
    assert _rows(ctx)[0][1] == "needs_sync"  # detect records it


async def test_an_interrupted_run_shows_failed_and_sync_run_records_it(
    ctx: CommandContext, target_dir: Path
) -> None:
    await _add(ctx, target_dir)
    repo = TargetRepo(ctx.store)
    web = await repo.get("web")
    assert web is not None
    run_id = await repo.start_sync_run(web.id, "full", "abc", None)
    dead = await asyncio.create_subprocess_exec("true")
    await dead.wait()
    await ctx.store.execute(
        "UPDATE sync_run SET pid = ?, step = 'docs' WHERE id = ?", (dead.pid, run_id)
    )
    before = _rows(ctx)

    entry = (await call(ctx, "sync", "status")).data["targets"][0]
    assert entry["status"] == "failed" and "interrupted at docs" in entry["status_reason"]
    assert entry["interrupted_run"]["id"] == run_id
    assert _rows(ctx) == before

    refused = await call(ctx, "sync", "run", "web")
    assert refused.exit_code == 1 and "interrupted" in (refused.text or "")
    (row,) = _rows(ctx)
    assert row[1] == "failed" and f"sync run {run_id} interrupted" in (row[2] or "")


async def test_config_probe_ignores_a_target_that_shadows_our_package(
    ctx: CommandContext, target_dir: Path
) -> None:
    # A target with its own `opencode` package: with the target as cwd, a plain `python -c`
    # would import this one (cwd is first on sys.path) and run the target's code.
    write(target_dir / "opencode/__init__.py", "print('SHADOWED opencode')\n")
    write(
        target_dir / "opencode/sessions/config.py",
        "raise SystemExit('SHADOWED config loader')\n",
    )
    write(target_dir / "opencode/sessions/__init__.py", "")
    write(target_dir / "sessions/__init__.py", "print('SHADOWED sessions')\n")
    # ... and a third-party module our config loader imports (tomlkit) of its own
    write(target_dir / "tomlkit/__init__.py", "raise SystemExit('SHADOWED tomlkit')\n")
    await _add(ctx, target_dir)
    result = await call(ctx, "sync", "verify", "web", "--tests", "integration")
    (check,) = result.data["checks"]
    assert "SHADOWED" not in check["output"]
    assert check["status"] == "passed", check["output"]
    assert "config ok: model ollama/llama3" in check["output"]
