"""The targets panel reads ``sync status`` (behind the source HEAD, last verification) from a
real git source and a real SQLite store; it falls back to ``target list`` outside git."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from opencode.commands.target.repo import TargetRepo
from opencode.commands.verify.repo import CheckResult, VerificationRepo
from opencode.tui.widgets.command_output import CommandOutput
from tests.tui.conftest import type_and_send, wait_for


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _cells(panel: Any) -> list[list[str]]:
    table = panel.query_one("#table")
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def _make_target(project: Path) -> Path:
    target = project.parent / "web"
    target.mkdir()
    (target / "pyproject.toml").write_text('[project]\nname = "web"\n')
    return target


async def test_columns_show_behind_and_last_verification_from_sync_status(
    make_app: Any, project: Path
) -> None:
    from opencode.tui.panels.targets import TargetsPanel

    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "source v1")
    head = _git(project, "rev-parse", "HEAD")
    target = _make_target(project)
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await type_and_send(pilot, f"/target add web --path {target} --type source")
        await wait_for(pilot, lambda: app.chat.query(CommandOutput))
        await pilot.app.workers.wait_for_complete()
        repo = TargetRepo(app.engine.store)
        web = await repo.get("web")
        assert web is not None
        await VerificationRepo(app.engine.store).save_verification(
            web.id,
            ["unit"],
            "2026-11-22T00:00:00Z",
            [
                CheckResult("pytest", "unit", "passed", 10, ""),
                CheckResult("ruff", "unit", "failed", 5, "E501"),
            ],
        )
        await pilot.press("f3")
        panel = app.chat.query_one(TargetsPanel)
        await wait_for(pilot, lambda: panel.loaded and panel.items)
        # Never synced: behind the source HEAD; the last verification failed one check.
        assert _cells(panel) == [["web", "needs_sync", "yes", "failed"]]
        assert panel.fallback_reason == ""
        details = panel.details_plain()
        assert "behind source HEAD: yes" in details and f"source head: {head}" in details
        assert "result: failed" in details and "passed: 1" in details

        await repo.mark_synced(web.id, head, "1.0")
        await panel.reload(app.command_context(lambda line: None))
        assert _cells(panel)[0][1:3] == ["synchronized", "no"]


async def test_outside_git_the_panel_falls_back_to_target_list_and_says_why(
    make_app: Any, project: Path
) -> None:
    from opencode.tui.panels.targets import TargetsPanel

    target = _make_target(project)
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await type_and_send(pilot, f"/target add web --path {target} --type source")
        await wait_for(pilot, lambda: app.chat.query(CommandOutput))
        await pilot.app.workers.wait_for_complete()
        await pilot.press("f3")
        panel = app.chat.query_one(TargetsPanel)
        await wait_for(pilot, lambda: panel.loaded and panel.items)
        assert _cells(panel)[0][0] == "web" and _cells(panel)[0][2:] == ["-", "-"]
        assert "is not a git repository" in panel.fallback_reason
        assert str(project) in panel.fallback_reason
        assert "behind/verified unknown" in panel.details_plain()
