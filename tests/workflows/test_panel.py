"""The workflow panel (F5) in the real app: a run started with /workflow in chat shows up with
its steps; nothing is written by the panel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.tui.widgets.command_output import CommandOutput
from tests.tui.conftest import make_app, project, server, type_and_send, wait_for

__all__ = ["make_app", "project", "server"]  # fixtures, re-exported for pytest


async def test_f5_shows_workflow_runs_and_their_steps(make_app: Any, project: Path) -> None:
    from opencode.tui.panels.workflows import WorkflowsPanel

    folder = project / ".opencode" / "workflows"
    folder.mkdir(parents=True)
    (folder / "two.toml").write_text(
        'allow = ["bash"]\n[steps.one]\nshell = "true"\n'
        '[steps.two]\nshell = "exit 4"\nneeds = ["one"]\n',
        encoding="utf-8",
    )
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("f5")
        panel = app.chat.query_one(WorkflowsPanel)
        await wait_for(pilot, lambda: panel.loaded)
        assert "/workflow run NAME" in panel.empty_text
        app.chat.prompt.focus()
        await type_and_send(pilot, "/workflow run two")
        await wait_for(pilot, lambda: app.chat.query(CommandOutput))
        await wait_for(pilot, lambda: len(panel.items) == 1, limit=30)
        item = panel.items[0]
        assert (item["name"], item["status"]) == ("two", "failed")
        details = panel.details_plain()
        assert "one" in details and "two" in details and "exit code 4" in details
