"""The chat's own slash commands live in the one registry, scoped to the TUI: the shell does
not offer them, the chat runs them through the same parse and handler path as every other
command, and /export hands the file name to the export command exactly as typed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.stream_server import StreamServer
from tests.tui.conftest import sse_reply, type_and_send, wait_for

ROOT = Path(__file__).resolve().parents[2]
CHAT_COMMANDS = ["help", "new", "sessions", "model", "export", "clear", "quit"]


def test_chat_commands_are_registered_with_the_tui_surface() -> None:
    from opencode.commands.registry import REGISTRY
    from opencode.tui.commands import slash_entries

    for name in CHAT_COMMANDS:
        command, rest = REGISTRY.find([name])
        assert (command.name, command.surface, rest) == (name, "tui", [])
    # The chat's /export and /sessions win over the registry aliases of the same name.
    entries = dict(slash_entries())
    assert entries["/export"].startswith("export this session")
    assert entries["/sessions"].startswith("pick a session")
    assert "/sync run" in entries and "/session list" in entries


def test_the_shell_does_not_offer_the_chat_commands(project: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "opencode.commands.cli", "new"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "unknown command 'new'" in out.stderr
    listed = {line.split()[0] for line in out.stderr.splitlines() if line.startswith("  ")}
    assert "session" in listed
    assert not listed & set(CHAT_COMMANDS), listed


async def test_a_chat_command_outside_the_chat_says_where_it_works(tmp_path: Path) -> None:
    import opencode.tui.commands  # noqa: F401  (registers the chat's commands)
    from opencode.commands.registry import REGISTRY, CommandContext, run_command
    from opencode.sessions.store.db import Store
    from tests.support.tui_app import config_for_tests

    config = config_for_tests(tmp_path / "data")
    store = await Store.open(tmp_path / "data" / "db.sqlite")
    try:
        command, values = REGISTRY.parse_slash("/new")
        result = await run_command(CommandContext(store, config, tmp_path), command, values)
    finally:
        await store.close()
    assert result.exit_code == 1
    assert "/new works only in the chat of the opencode TUI" in (result.text or "")


async def test_export_writes_the_file_name_exactly_as_typed(
    make_app: Any, server: StreamServer, project: Path
) -> None:
    """``/export -- "-odd's.md"``: the words go to the export command as parsed once from the
    line typed (a rebuilt ``--output -odd's.md`` line, split again, reads as an option)."""
    server.add(sse_reply("openai_text.sse"))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "/new")
        await wait_for(pilot, lambda: app.engine.session is None)
        await type_and_send(pilot, "/export")
        await wait_for(pilot, lambda: app.chat.query(".-failed"))
        assert "nothing to export yet" in app.chat.query(".-failed").last().plain
        await type_and_send(pilot, "Export me")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        await type_and_send(pilot, '/export -- "-odd\'s.md"')
        target = project / "-odd's.md"
        await wait_for(pilot, lambda: target.exists())
        assert "Export me" in target.read_text()


async def test_sync_messages_in_a_fresh_repo_and_without_a_target(
    make_app: Any, project: Path
) -> None:
    from opencode.sessions.git import git
    from opencode.tui.widgets.command_output import CommandOutput
    from tests.tui.conftest import type_and_send, wait_for

    await git(project, "init", "-q")
    app = make_app(open_session=False, extra=f'[sync]\nsource = "{project}"\n')
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "/sync status")

        def done(count: int) -> bool:
            outputs = app.chat.query(CommandOutput)
            return len(outputs) == count and not outputs.last().running

        await wait_for(pilot, lambda: done(1))
        status = app.chat.query(CommandOutput).last().plain
        assert "has no commits yet" in status and "ambiguous argument" not in status
        await type_and_send(pilot, "/sync run")
        await wait_for(pilot, lambda: done(2))
        run = app.chat.query(CommandOutput).last().plain
        assert "not both" not in run


async def test_model_switch_clears_the_previous_models_error(
    make_app: Any, server: StreamServer
) -> None:
    from tests.support.stream_server import Reply

    body = (Path(__file__).parent.parent / "fixtures/streams/openai_404.json").read_bytes()
    server.add(
        Reply(body=body, status=404, headers={"content-type": "application/json"}, chunked=False)
    )
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "hi")
        await wait_for(pilot, lambda: app.chat.status.state == "error")
        await type_and_send(pilot, "/model mock/other-model")
        await wait_for(pilot, lambda: app.chat.status.model == "mock/other-model")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
