"""Slash commands (autocomplete, TUI-only and registry commands), pickers, panels, the command
palette and theme persistence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.tui.widgets.command_output import CommandOutput
from opencode.tui.widgets.message_views import UserMessage
from opencode.tui.widgets.prompt import SlashSuggestions
from tests.support.stream_server import StreamServer
from tests.tui.conftest import sse_reply, type_and_send, wait_for


async def test_slash_shows_autocomplete_and_tab_completes(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("/")
        box = app.chat.query_one(SlashSuggestions)
        assert box.has_class("-visible")
        names = [box.get_option_at_index(i).id for i in range(box.option_count)]
        # TUI commands and registry commands in one list (a group collapsed to one entry
        # until its name is typed: tests/tui/test_slash_groups.py)
        assert {"/help", "/sessions", "/model", "/session"} <= set(names)
        await pilot.press("h", "e")
        names = [box.get_option_at_index(i).id for i in range(box.option_count)]
        assert names == ["/help"]
        await pilot.press("tab")
        assert app.chat.prompt.text == "/help "
        assert not box.has_class("-visible")


async def test_help_renders_a_table_of_commands(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await type_and_send(pilot, "/help")
        await wait_for(pilot, lambda: app.chat.query(CommandOutput))
        output = app.chat.query_one(CommandOutput)
        assert output.line == "/help"
        assert "Ctrl+J" in output.plain


async def test_registry_command_renders_and_refreshes_panel(make_app: Any) -> None:
    from opencode.tui.panels.backlog import BacklogPanel

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f2")
        panel = app.chat.query_one(BacklogPanel)
        await wait_for(pilot, lambda: panel.loaded)
        assert panel.items == []
        assert "/backlog add" in panel.empty_text
        app.chat.prompt.focus()
        await type_and_send(pilot, "/backlog add Fix the parser --priority high")
        await wait_for(pilot, lambda: app.chat.query(CommandOutput))
        assert "Fix the parser" in app.chat.query_one(CommandOutput).plain
        await wait_for(pilot, lambda: len(panel.items) == 1)
        assert panel.items[0]["title"] == "Fix the parser"
        details = panel.details_plain()
        assert "Fix the parser" in details
        app.chat.prompt.focus()
        await type_and_send(pilot, "/backlog add Second item")
        await wait_for(pilot, lambda: len(panel.items) == 2)
        panel.query_one("#table").focus()
        await pilot.press("down")
        await wait_for(pilot, lambda: "Second item" in panel.details_plain())
        assert "Fix the parser" not in panel.details_plain()


async def test_unknown_command_is_an_inline_error(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "/nosuch thing")
        await wait_for(pilot, lambda: app.chat.query(CommandOutput))
        output = app.chat.query_one(CommandOutput)
        assert output.has_class("-failed")
        assert "unknown command" in output.plain


async def test_each_panel_toggles_and_shows_its_empty_state(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        side = app.chat.query_one("#side")
        for key, hint in (("f2", "/backlog add"), ("f3", "/target add"), ("f4", "/sync verify")):
            await pilot.press(key)
            assert side.has_class("-visible")
            switcher = app.chat.query_one("ContentSwitcher")
            panel = app.chat.query_one(f"#{switcher.current}")
            await wait_for(pilot, lambda panel=panel: panel.loaded)  # type: ignore[misc]
            assert hint in panel.empty_text
        await pilot.press("f4")
        assert not side.has_class("-visible")


async def test_target_panel_lists_a_registered_target(make_app: Any, project: Path) -> None:
    from opencode.tui.panels.targets import TargetsPanel

    target = project.parent / "web"
    target.mkdir()
    (target / "pyproject.toml").write_text('[project]\nname = "web"\n')
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await type_and_send(pilot, f"/target add web --path {target} --type source")
        await wait_for(pilot, lambda: app.chat.query(CommandOutput))
        await pilot.press("f3")
        panel = app.chat.query_one(TargetsPanel)
        await wait_for(pilot, lambda: panel.loaded and panel.items)
        assert panel.items[0]["name"] == "web"
        assert "web" in panel.details_plain()


async def test_sessions_picker_resumes_the_chosen_session(
    make_app: Any, server: StreamServer
) -> None:
    from opencode.tui.screens.picker import PickerScreen

    server.add(sse_reply("openai_text.sse"))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "First session message")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        first = app.engine.session.id
        await type_and_send(pilot, "/new")
        await wait_for(pilot, lambda: app.engine.session is None)
        assert not app.chat.query(UserMessage)
        assert app.chat.status.title == ""
        await type_and_send(pilot, "/sessions")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        picker = app.screen
        ids = [value for value, _ in picker.items]
        assert first in ids
        index = ids.index(first)
        await pilot.press(*(["down"] * index), "enter")
        await wait_for(pilot, lambda: app.engine.session.id == first)
        await wait_for(pilot, lambda: app.chat.query(UserMessage))
        assert app.chat.query_one(UserMessage).text == "First session message"


async def test_model_picker_sets_the_model(make_app: Any) -> None:
    from opencode.tui.screens.picker import PickerScreen

    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "/model")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        values = [value for value, _ in app.screen.items]
        assert "mock/other-model" in values
        await pilot.press(*(["down"] * values.index("mock/other-model")), "enter")
        await wait_for(pilot, lambda: app.chat.status.model == "mock/other-model")
        assert app.engine.model == "mock/other-model"
        await type_and_send(pilot, "/model nosuch/model")
        await wait_for(pilot, lambda: app.chat.query(".-failed"))
        assert "unknown provider" in app.chat.query(".-failed").last().plain


async def test_export_clear_and_quit(make_app: Any, server: StreamServer, project: Path) -> None:
    server.add(sse_reply("openai_text.sse"))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "Export me")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        await type_and_send(pilot, "/export out.md")
        # Wait for the content, not the file: write_text creates it empty first.
        out = project / "out.md"
        await wait_for(pilot, lambda: out.exists() and "Export me" in out.read_text())
        assert "Export me" in (project / "out.md").read_text()
        await type_and_send(pilot, "/clear")
        await wait_for(pilot, lambda: not app.chat.query(UserMessage))
        assert app.engine.session is not None
        await type_and_send(pilot, "/quit")
        await wait_for(pilot, lambda: app.return_value == 0)


async def test_command_palette_offers_panels(make_app: Any) -> None:
    from textual.command import CommandPalette

    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.chat)]
        assert {"Backlog panel", "Targets panel", "Verification panel", "New session"} <= set(
            titles
        )
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Backlog panel", "enter")
        await wait_for(pilot, lambda: app.chat.query_one("#side").has_class("-visible"))


async def test_theme_is_remembered(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = "dracula"
        await pilot.pause()
    again = make_app()
    async with again.run_test(size=(80, 24)):
        assert again.theme == "dracula"


async def test_long_command_shows_progress_live_and_keeps_keys_working(
    make_app: Any, monkeypatch: Any
) -> None:
    import asyncio

    from opencode.commands.registry import REGISTRY, Command, CommandContext, CommandResult

    release = asyncio.Event()

    async def slow(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
        ctx.progress("step 1: backing up")
        await release.wait()
        ctx.progress("step 2: copying")
        return CommandResult(data={"ok": True}, text="synced", changed=frozenset({"target"}))

    REGISTRY.load()
    monkeypatch.setitem(
        REGISTRY._commands, ("tuitest", "slow"), Command(("tuitest", "slow"), "slow", slow)
    )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await type_and_send(pilot, "/tuitest slow")
        await wait_for(pilot, lambda: app.chat.query(CommandOutput))
        output = app.chat.query_one(CommandOutput)
        await wait_for(pilot, lambda: output.progress == ["step 1: backing up"])
        assert output.running
        await pilot.press("f3")  # the screen still answers keys while the command runs
        assert app.chat.query_one("#side").has_class("-visible")
        release.set()
        await wait_for(pilot, lambda: not output.running)
        assert output.plain == "step 1: backing up\nstep 2: copying\nsynced"
        assert not output.has_class("-failed")
