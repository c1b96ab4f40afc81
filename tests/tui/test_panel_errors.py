"""Failures that are not CommandErrors: a panel's command raising (e.g. a locked database
while a CLI sync writes) shows the error in the panel and keeps the app running; a slash
command's crash is logged with its traceback."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from opencode.commands.registry import REGISTRY, Command, CommandContext, CommandResult
from opencode.sessions.store.db import StoreError
from opencode.tui.widgets.command_output import CommandOutput
from tests.tui.conftest import type_and_send, wait_for


async def test_a_panel_whose_command_raises_shows_the_error_and_the_app_stays_up(
    make_app: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from opencode.tui.panels.backlog import BacklogPanel

    calls: list[int] = []

    async def locked(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
        calls.append(1)
        raise StoreError("database is locked: /tmp/x/opencode.db; retry when the sync ends")

    REGISTRY.load()
    original = REGISTRY._commands[("backlog", "list")]
    monkeypatch.setitem(
        REGISTRY._commands, ("backlog", "list"), Command(("backlog", "list"), "list", locked)
    )
    app = make_app()
    with caplog.at_level(logging.ERROR):
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("f2")
            panel = app.chat.query_one(BacklogPanel)
            await wait_for(pilot, lambda: panel.loaded)
            await pilot.pause(0.1)
            assert app.is_running
            assert "StoreError: database is locked: /tmp/x/opencode.db" in panel.empty_text
            assert panel.items == []
            # A data change reloads the panel through the same worker path: still up.
            app.chat.prompt.focus()
            await type_and_send(pilot, "/backlog add Fix the parser")
            await wait_for(pilot, lambda: len(calls) >= 2)
            await pilot.pause(0.1)
            assert app.is_running
            # Once the store answers again, the panel recovers on the next change.
            monkeypatch.setitem(REGISTRY._commands, ("backlog", "list"), original)
            app.chat.prompt.focus()
            await type_and_send(pilot, "/backlog add Second item")
            await wait_for(pilot, lambda: len(panel.items) == 2)
            assert app.is_running
    records = [r for r in caplog.records if r.name == "opencode.tui.panels.base"]
    assert records and records[0].exc_info is not None
    assert records[0].exc_info[0] is StoreError


async def test_a_crashing_slash_command_is_logged_with_its_traceback(
    make_app: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
        raise RuntimeError("boom in the handler")

    REGISTRY.load()
    monkeypatch.setitem(
        REGISTRY._commands, ("tuitest", "boom"), Command(("tuitest", "boom"), "boom", boom)
    )
    app = make_app()
    with caplog.at_level(logging.ERROR):
        async with app.run_test(size=(100, 30)) as pilot:
            await type_and_send(pilot, "/tuitest boom")
            await wait_for(pilot, lambda: app.chat.query(CommandOutput))
            output = app.chat.query_one(CommandOutput)
            await wait_for(pilot, lambda: not output.running)
            assert output.has_class("-failed")
            assert "tuitest boom failed: RuntimeError: boom in the handler" in output.plain
            assert app.is_running
    records = [r for r in caplog.records if r.name == "opencode.tui.screens.chat"]
    assert len(records) == 1 and "/tuitest boom" in records[0].getMessage()
    assert records[0].exc_info is not None
    assert caplog.text.count("in boom") == 1  # the traceback names the failing handler
