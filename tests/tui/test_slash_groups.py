"""`/` completion and /help lead with the chat's commands; the command groups (sync, target,
backlog, ...) are one entry each until the group's name is typed, and /help has a heading per
group."""

from __future__ import annotations

from typing import Any

import pytest

from opencode.tui.widgets.command_output import CommandOutput
from opencode.tui.widgets.prompt import SlashSuggestions
from tests.tui.conftest import command_output, type_and_send, wait_for


def offered(app: Any) -> list[str]:
    box = app.chat.query_one(SlashSuggestions)
    if not box.has_class("-visible"):
        return []
    return [str(box.get_option_at_index(i).id) for i in range(box.option_count)]


def test_sections_put_the_chat_first_and_each_group_together() -> None:
    from opencode.tui.commands import slash_entries, slash_sections, suggestions

    sections = slash_sections()
    assert sections[0].title == "Chat"
    assert [n for n, _ in sections[0].entries][:4] == ["/help", "/new", "/sessions", "/model"]
    sync = next(s for s in sections if s.group == "sync")
    assert sync.entries[0][0] == "/sync" and "commands" in sync.entries[0][1]
    assert all(n.startswith("/sync ") for n, _ in sync.entries[1:]) and len(sync.entries) > 5
    entries = slash_entries()
    top = [n for n, _ in suggestions(entries, "/")]
    assert not [n for n in top if " " in n], top  # groups collapsed
    assert top.index("/quit") < top.index("/sync") and top.index("/help") == 0
    assert len(top) < 35 < len(entries)
    assert [n for n, _ in suggestions(entries, "/sy")] == ["/sync"]
    assert "/sync run" in [n for n, _ in suggestions(entries, "/sync")]
    assert [n for n, _ in suggestions(entries, "/sync ru")] == ["/sync run"]


async def test_completion_leads_with_chat_commands_and_opens_a_group(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.chat.prompt.focus()
        await pilot.press("/")
        names = offered(app)
        assert names[:3] == ["/help", "/new", "/sessions"]
        assert "/sync" in names and "/sync run" not in names and "/target list" not in names
        await pilot.press("s", "y")
        assert offered(app) == ["/sync"]
        await pilot.press("tab")
        assert app.chat.prompt.text == "/sync "
        names = offered(app)
        assert "/sync run" in names and "/sync status" in names and "/sync" not in names
        await pilot.press("s", "t")
        assert offered(app) == ["/sync status"]


async def test_help_is_grouped_under_headings(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        # /help: the chat's commands in full, each group on one line (all 40+ lines would be
        # taller than the terminal)
        compact = await command_output(pilot, "/help")
        assert compact.tables[0].title == "Chat" and compact.tables[0].rows[0][0] == "/help"
        groups = compact.tables[-1]
        assert groups.title == "Command groups"
        assert {"/sync …", "/backlog …"} <= {row[0] for row in groups.rows}
        cells = [str(cell) for table in compact.tables for row in table.rows for cell in row]
        assert "/sync run" not in cells and "/help sync" in compact.plain
        output = await command_output(pilot, "/help all")
        titles = [t.title for t in output.tables]
        assert titles[0] == "Chat" and output.tables[0].rows[0][0] == "/help"
        assert any(t and t.startswith("/sync: ") for t in titles)
        assert any(t and t.startswith("/backlog: ") for t in titles)
        only = await command_output(pilot, "/help sync")
        sync_title = next(t for t in titles if t and t.startswith("/sync: "))
        assert [t.title for t in only.tables] == [sync_title]
        assert "/sync run" in [row[0] for row in only.tables[0].rows]
        failed = await command_output(pilot, "/help nosuch")
        assert failed.has_class("-failed") and "no command group 'nosuch'" in failed.plain
        assert len(app.chat.query(CommandOutput)) == 4  # one block per command


@pytest.mark.parametrize("size", [(60, 15), (80, 24)])
async def test_a_tall_help_is_shown_from_its_top_at_small_sizes(
    make_app: Any, size: tuple[int, int]
) -> None:
    """At 60x15 and 80x24 the view followed the end of /help: only its last rows were seen,
    not the chat's commands it leads with. A block taller than the view opens at its top; a
    short one keeps the view at the end."""
    app = make_app()
    async with app.run_test(size=size) as pilot:
        transcript = app.chat.transcript
        output = await command_output(pilot, "/help")
        await app.workers.wait_for_complete()
        for _ in range(3):  # later layouts do not pull the view back to the end
            await pilot.pause()
        view = transcript.scrollable_content_region.height
        assert output.outer_size.height > view, size
        top = output.virtual_region.y
        assert transcript.scroll_y <= top < transcript.scroll_y + view, (size, top)
        short = await command_output(pilot, "/help nosuch")
        await wait_for(pilot, lambda: transcript.scroll_y >= transcript.max_scroll_y)
        assert short.has_class("-failed")
        await type_and_send(pilot, "/help all")
        await wait_for(pilot, lambda: len(app.chat.query(CommandOutput)) == 3)
        everything = app.chat.query(CommandOutput).last()
        await wait_for(
            pilot,
            lambda: transcript.scroll_y <= everything.virtual_region.y < transcript.scroll_y + view,
        )
