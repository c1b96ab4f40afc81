"""Text that is not ours is shown as written in the prompt's lists: file names in the ``@``
list (``app/[slug]/page.tsx``, a Next.js route), sent messages in the Ctrl+R search, command
help in the ``/`` list. Read as markup, brackets vanished, ``[/x]`` crashed the app
(MarkupError) and ``[@click=app.quit]`` made a link that ran an action."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.geometry import Region
from textual.widget import Widget

from opencode.tui.screens.history_search import HistorySearchScreen
from opencode.tui.widgets.mentions import MentionSuggestions
from opencode.tui.widgets.prompt import SlashSuggestions
from tests.tui.conftest import wait_for

HOSTILE = ["fix [/foo] now", "use [bold]x[/bold] here", "see [@click=app.quit]docs[/]"]


def rows(widget: Widget) -> list[str]:
    """The widget's lines as drawn."""
    size = widget.size
    return [strip.text.strip() for strip in widget.render_lines(Region(0, 0, *size))]


async def test_a_file_name_with_brackets_is_listed_as_it_is(make_app: Any, project: Path) -> None:
    (project / "app" / "[slug]").mkdir(parents=True)
    (project / "app" / "[slug]" / "page.tsx").write_text("export {}\n")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.chat.prompt.focus()
        await pilot.press(*"see @page")
        box = app.chat.query_one(MentionSuggestions)
        await wait_for(pilot, lambda: box.display and box.option_count > 0)
        await pilot.pause()
        assert "app/[slug]/page.tsx" in rows(box)
        await pilot.press("tab")
        assert app.chat.prompt.text == "see @app/[slug]/page.tsx "


async def test_history_search_shows_markup_as_typed_and_does_not_crash(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        prompt = app.chat.prompt
        prompt.sent.extend(HOSTILE)
        prompt.focus()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, HistorySearchScreen))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HistorySearchScreen)
        drawn = rows(screen.options)
        for text in HOSTILE:
            assert text in drawn
        await pilot.press("enter")
        await wait_for(pilot, lambda: prompt.text == HOSTILE[-1])
        assert app.is_running


async def test_command_help_with_brackets_is_listed_as_written(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        prompt = app.chat.prompt
        prompt.entries = [("/zz-mcp:review", "Review a PR [/pr] [@click=app.quit]now[/]")]
        prompt.focus()
        await pilot.press(*"/zz")
        box = app.chat.query_one(SlashSuggestions)
        await wait_for(pilot, lambda: box.display and box.option_count == 1)
        await pilot.pause()
        assert "/zz-mcp:review  Review a PR [/pr] [@click=app.quit]now[/]" in rows(box)
        assert app.is_running
