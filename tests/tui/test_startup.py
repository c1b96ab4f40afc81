"""The first frame comes before work it does not need: markdown rendering (markdown-it) is
imported at the first render, slash completion (every command module) loads after the first
frame, the side panels (hidden at start) are imported and composed when first opened, and the
key bar is composed once, not at every focus change; then all works as before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input

from opencode.tui.widgets.footer import KeysFooter
from tests.support.tui_app import make_test_app
from tests.tui.conftest import wait_for


def test_the_chat_screen_imports_no_markdown_parser() -> None:
    code = (
        "import sys\n"
        "import opencode.tui.app, opencode.tui.screens.chat\n"
        "print(sorted(m for m in ('markdown_it', 'rich.markdown') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


async def test_slash_completion_arrives_after_the_first_frame(tmp_path: Path) -> None:
    app = await make_test_app(tmp_path, open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        prompt = app.chat.prompt
        await wait_for(pilot, lambda: any(name == "/help" for name, _ in prompt.entries))
        assert any(name.startswith("/sync") for name, _ in prompt.entries)


def test_the_chat_screen_imports_no_side_panel() -> None:
    code = (
        "import sys\n"
        "import opencode.tui.app, opencode.tui.screens.chat\n"
        "print(sorted(m for m in sys.modules if m.startswith('opencode.tui.panels.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


async def test_side_panels_are_composed_when_first_opened(tmp_path: Path) -> None:
    from opencode.tui.panels.backlog import BacklogPanel
    from opencode.tui.panels.base import DataPanel

    app = await make_test_app(tmp_path, open_session=False)
    async with app.run_test(size=(120, 40)) as pilot:
        chat = app.chat
        await pilot.pause()
        assert not chat.query(DataPanel)  # hidden at start: not composed
        await pilot.press("f2")
        panel = chat.query_one(BacklogPanel)
        await wait_for(pilot, lambda: panel.loaded)
        assert "/backlog add" in panel.empty_text
        assert panel.display and chat.query_one("#side").has_class("-visible")
        await pilot.press("f3")  # another panel: the first is kept, hidden
        await wait_for(pilot, lambda: len(chat.query(DataPanel)) == 2)
        assert not panel.display
        await pilot.press("f2")  # opened again: the same panel, not a second one
        assert chat.query_one(BacklogPanel) is panel and panel.display
        assert len(chat.query(DataPanel)) == 2


class KeysHost(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f9", "save", "Save"),
        Binding("f10", "quit", "Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.can_save = True

    def compose(self) -> ComposeResult:
        yield Input(id="one")
        yield Input(id="two")
        yield KeysFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if action == "save" and not self.can_save else True

    def action_save(self) -> None:
        pass


async def test_the_footer_recomposes_only_when_the_keys_it_shows_change() -> None:
    app = KeysHost()
    async with app.run_test(size=(80, 10)) as pilot:
        footer = app.query_one(KeysFooter)
        await wait_for(pilot, lambda: footer.query("FooterKey"))
        assert footer.recomposes == 1
        for target in ("#two", "#one", "#two"):  # focus moves: the same keys
            app.query_one(target).focus()
            await pilot.pause()
        app.screen.refresh_bindings()
        await pilot.pause()
        assert footer.recomposes == 1
        app.can_save = False  # a key greyed out: shown as such
        app.refresh_bindings()
        await wait_for(pilot, lambda: footer.recomposes == 2)
        keys = {getattr(key, "key", None): key for key in footer.query("FooterKey")}
        assert keys["f9"].has_class("-disabled") and not keys["f10"].has_class("-disabled")
