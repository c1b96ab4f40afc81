"""The todo panel above the prompt and the todowrite call's summary, driven by a real turn
(loopback server, real SQLite), Ctrl+T, and the list coming back when the session resumes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.tui.widgets.todo import MAX_ROWS, TodoPanel
from opencode.tui.widgets.tool_call import ToolCallView
from tests.support.stream_server import StreamServer
from tests.tools.test_todo import PLAN, text_reply, tool_call_reply
from tests.tui.conftest import type_and_send, wait_for


def panel_text(app: Any) -> str:
    return app.chat.todos.render_list().plain


async def test_the_panel_follows_the_model_and_ctrl_t_toggles_it(
    make_app: Any, server: StreamServer
) -> None:
    server.add(tool_call_reply("todowrite", {"todos": PLAN}), text_reply("Planned."))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.chat.query_one("#todos", TodoPanel)
        assert not panel.display  # no list yet: nothing takes the prompt's room
        await type_and_send(pilot, "Plan the fix")
        await wait_for(pilot, lambda: panel.shown)
        assert panel.display
        text = panel_text(app)
        assert "1/3 done" in text
        assert "☑ Read the failing test" in text
        assert "◐ Fix the parser" in text
        assert "☐ Run the whole suite" in text
        # Above the prompt, below the transcript.
        prompt_top = app.chat.prompt.region.y
        assert panel.region.y + panel.region.height <= prompt_top
        assert panel.region.height >= 4

        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        view = app.chat.query_one(ToolCallView)
        header = view.header_text().plain
        assert "3 todos: 1 done, 1 in progress, 1 pending" in header
        assert "{" not in header and "content" not in header
        body = view.body()
        assert "◐ Fix the parser" in body.plain  # type: ignore[union-attr]
        assert '"status"' not in body.plain  # type: ignore[union-attr]

        app.chat.prompt.focus()
        await pilot.press("ctrl+t")
        assert not panel.shown and not panel.display
        assert app.chat.prompt.text == ""  # the key went to the screen, not into the prompt
        await pilot.press("ctrl+t")
        assert panel.shown and panel.display


async def test_a_resumed_session_shows_its_list(
    make_app: Any, server: StreamServer, project: Path
) -> None:
    server.add(tool_call_reply("todowrite", {"todos": PLAN}), text_reply("Planned."))
    first = make_app()
    async with first.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "Plan the fix")
        await wait_for(pilot, lambda: first.chat.status.state == "ready")
        session_id = first.chat.transcript.session_id

    again = make_app(session_id=session_id)
    async with again.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: again.chat.todos.shown)
        assert "◐ Fix the parser" in panel_text(again)
        await pilot.press("ctrl+n")  # a new session has no list
        await wait_for(pilot, lambda: not again.chat.todos.shown)


async def test_ctrl_t_with_no_list_says_so(make_app: Any) -> None:
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+t")
        assert app.chat.todos.shown
        assert "No todo list in this session yet" in panel_text(app)


async def test_a_long_list_keeps_the_item_in_progress_in_view(make_app: Any) -> None:
    from opencode.sessions.todos import Todo

    todos = [Todo(f"step {i}", "completed", None, str(i)) for i in range(20)]
    todos[14] = Todo("step 14", "in_progress", None, "14")
    todos[15:] = [Todo(f"step {i}", "pending", None, str(i)) for i in range(15, 20)]
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        app.chat.todos.show_todos(todos)
        await pilot.pause()
        text = panel_text(app)
        assert "◐ step 14" in text
        assert "… 12 earlier" in text and "more" not in text  # the last 8 fit below it
        rows = [line for line in text.splitlines() if line[:1] in "☐◐☑☒"]
        assert len(rows) == MAX_ROWS


async def test_a_short_terminal_gives_the_list_fewer_rows(make_app: Any) -> None:
    from opencode.sessions.todos import Todo

    todos = [Todo(f"step {i}", "pending", None, str(i)) for i in range(6)]
    app = make_app(open_session=False)
    async with app.run_test(size=(60, 15)) as pilot:
        app.chat.todos.show_todos(todos)
        await pilot.pause()
        text = panel_text(app)
        assert [line for line in text.splitlines() if line[:1] == "☐"] == [
            "☐ step 0",
            "☐ step 1",
        ]
        assert "… 4 more" in text
        assert app.chat.prompt.region.height >= 1  # the prompt keeps its room
        assert app.chat.transcript.region.height >= 3


async def test_long_items_take_one_row_each_in_a_short_terminal(make_app: Any) -> None:
    """A 500-character item (the most the tool keeps), wide characters, markup-like text: one
    row per item, cut with an ellipsis, so the transcript keeps its room at 60x15."""
    from opencode.sessions.todos import MAX_CONTENT_CHARS, Todo

    todos = [
        Todo("宽字符 " * 200, "in_progress", None, "0"),
        Todo(("long words " * 100)[:MAX_CONTENT_CHARS], "pending", None, "1"),
        Todo("[bold]x[/] [/oops] [@click=app.quit]q[/]", "pending", None, "2"),
    ]
    app = make_app(open_session=False)
    async with app.run_test(size=(60, 15)) as pilot:
        panel = app.chat.todos
        panel.show_todos(todos)
        await pilot.pause()
        # Border, title, two items, "… 1 more": five rows, whatever the items hold.
        assert panel.region.height <= 5
        assert app.chat.transcript.region.height >= 3
        panel.show_todos(todos[2:])
        await pilot.pause()
        assert "[bold]x[/] [/oops] [@click=app.quit]q[/]" in panel_text(app)
        assert app.is_running


async def test_a_subagent_title_with_escapes_reaches_no_terminal(make_app: Any) -> None:
    """A subagent's title is the model's task description: no control character is drawn."""
    from opencode.sessions.todos import Todo

    app = make_app(open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.chat.todos
        panel.child_started("ses_child", "audit\x1b]0;PWNED\x07 the \x1b[2Jparser\r")
        panel.show_child("ses_child", [Todo("read files", "in_progress", None, "1")])
        await pilot.pause()
        text = panel_text(app)
        assert "↳ audit the parser" in text
        assert not any(ord(c) < 32 and c != "\n" for c in text)
