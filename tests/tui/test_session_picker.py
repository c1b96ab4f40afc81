"""The session picker filters as you type and shows each session's date, model and message
count, the counts read in the same query as the sessions."""

from __future__ import annotations

import time
from typing import Any

from textual.widgets import OptionList

from opencode.tui.screens.picker import PickerScreen, matches
from opencode.tui.widgets.message_views import UserMessage
from tests.support.stream_server import StreamServer
from tests.tui.conftest import send_turn, sse_reply, type_and_send, wait_for


def test_filter_words_match_in_any_order_and_case() -> None:
    label = "2026-11-30 09:12  Fix the tokenizer parser  openai/gpt-4o  12 msgs"
    assert matches(label, "") and matches(label, "PARSER fix") and matches(label, "gpt-4o 12")
    assert not matches(label, "fix docs")


async def test_picker_filters_as_you_type_and_shows_date_model_count(
    make_app: Any, server: StreamServer
) -> None:
    server.add(sse_reply("openai_text.sse"))
    app = make_app()
    async with app.run_test(size=(110, 30)) as pilot:
        await send_turn(pilot, "Fix the tokenizer parser")
        fix = app.engine.session.id
        await type_and_send(pilot, "/new")
        await wait_for(pilot, lambda: app.engine.session is None)
        await send_turn(pilot, "Write docs for sync")
        await send_turn(pilot, "and the README")
        docs = app.engine.session.id

        statements: list[str] = []
        await app.engine.store.conn.set_trace_callback(statements.append)
        await type_and_send(pilot, "/sessions")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await app.engine.store.conn.set_trace_callback(None)
        # The sessions and their counts in one statement, not one COUNT per session.
        assert len([s for s in statements if "message_count" in s]) == 1
        assert not [s for s in statements if s.lstrip().upper().startswith("SELECT COUNT")]

        picker = app.screen
        assert isinstance(picker, PickerScreen)
        labels = dict(picker.items)
        day = time.strftime("%Y-%m-%d")
        assert labels[fix].startswith(day) and "mock/test-model" in labels[fix]
        assert labels[fix].endswith("2 msgs") and labels[docs].endswith("4 msgs")
        await pilot.press(*"docs")
        assert [v for v, _ in picker.shown] == [docs]
        options = picker.query_one("#options", OptionList)
        assert options.option_count == 1
        await pilot.press(*" zzz")
        assert picker.shown == [] and not options.display
        await pilot.press("enter")  # nothing matches: nothing picked
        assert app.screen is picker
        for _ in range(len("docs zzz")):
            await pilot.press("backspace")
        assert len(picker.shown) == 2
        await pilot.press(*"PARSER fix", "enter")
        await wait_for(
            pilot, lambda: app.engine.session is not None and app.engine.session.id == fix
        )
        await wait_for(pilot, lambda: app.chat.query(UserMessage))
        assert app.chat.query_one(UserMessage).text == "Fix the tokenizer parser"


async def test_arrows_move_in_the_filtered_list(make_app: Any) -> None:
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        items = [("a", "alpha one"), ("b", "beta one"), ("c", "gamma two")]
        picked: list[str | None] = []
        app.push_screen(PickerScreen("Pick", items), picked.append)
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.pause()
        await pilot.press(*"one", "down", "enter")
        await wait_for(pilot, lambda: picked)
        assert picked == ["b"]


async def test_titles_with_markup_or_escapes_are_shown_as_typed(
    make_app: Any, server: StreamServer
) -> None:
    """A session's title is the start of what the user typed; the picker once parsed it as
    markup ("[link=https://x]" stopped the app when the list was drawn)."""
    server.add(sse_reply("openai_text.sse"))
    app = make_app()
    title = "[link=https://x]a[/link] [/] \x1b]2;t\x1b\\ [b]"
    async with app.run_test(size=(110, 30)) as pilot:
        await send_turn(pilot, title)
        await type_and_send(pilot, "/new")
        await wait_for(pilot, lambda: app.engine.session is None)
        await type_and_send(pilot, "/sessions")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        picker = app.screen
        options = picker.query_one("#options", OptionList)
        await pilot.pause()
        lines = options.render_lines(options.region.reset_offset)
        drawn = "\n".join("".join(segment.text for segment in strip) for strip in lines)
        assert "[link=https://x]a[/link] [/]" in drawn, drawn
        assert "\x1b" not in drawn and "␛]2;t" in drawn, drawn
        await pilot.press(*"[/]")
        assert len(picker.shown) == 1
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.engine.session is not None)


async def test_the_filter_finds_an_old_session_among_500(make_app: Any) -> None:
    """The picker read only the latest 100 sessions: the 500th one back could not be found
    by typing its title."""
    from opencode.sessions.store.sessions import SessionRepo

    app = make_app(open_session=False)
    async with app.run_test(size=(110, 30)) as pilot:
        repo, store = SessionRepo(app.engine.store), app.engine.store
        oldest = ""
        for i in range(500):
            title = "the needle session" if i == 0 else f"session {i}"
            record = await repo.create(cwd=app.engine.cwd, model="mock/test-model", title=title)
            oldest = oldest or record.id
            await store.execute(
                "UPDATE session SET updated_at = ? WHERE id = ?", (1_700_000_000 + i, record.id)
            )
            await store.execute(
                "INSERT INTO message (id, session_id, role, created_at) VALUES (?, ?, 'user', ?)",
                (f"msg_{i:04}", record.id, 1_700_000_000 + i),
            )
        await type_and_send(pilot, "/sessions")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        picker = app.screen
        assert isinstance(picker, PickerScreen) and len(picker.items) == 500
        await pilot.press(*"needle")
        assert [v for v, _ in picker.shown] == [oldest]
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.engine.session is not None)
        assert app.engine.session.id == oldest
