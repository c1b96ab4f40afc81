"""A running bash command's output shows in its tool widget while it runs: a real command
that prints, then waits for a file the test creates only once the first line is on screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.tui.widgets.tool_call import LIVE_LINES, ToolCallView, running_view
from tests.support.stream_server import StreamServer
from tests.tools.test_live_output import WAIT_FOR_GO
from tests.tools.test_todo import text_reply, tool_call_reply
from tests.tui.conftest import type_and_send, wait_for


async def allow_if_asked(pilot: Any) -> None:
    """The command may be asked about (a loop the rules cannot see into): allow it once."""
    from opencode.tui.screens.permission import PermissionScreen

    app = pilot.app
    await wait_for(
        pilot, lambda: isinstance(app.screen, PermissionScreen) or app.chat.query(ToolCallView)
    )
    if isinstance(app.screen, PermissionScreen):
        await wait_for(pilot, lambda: app.screen.armed)
        await pilot.press("a")


async def test_the_first_line_shows_before_the_command_ends(
    make_app: Any, server: StreamServer, project: Path
) -> None:
    server.add(tool_call_reply("bash", {"command": WAIT_FOR_GO}), text_reply("Done."))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "Run it")
        await allow_if_asked(pilot)
        await wait_for(pilot, lambda: app.chat.query(ToolCallView))
        view = app.chat.query_one(ToolCallView)
        await wait_for(pilot, lambda: "first" in view.live_lines)
        assert view.status == "running"  # the command is still waiting for "go"
        assert running_view(view.call_id) is view
        live = view.query_one(".tool-live")
        assert live.display and live.region.height >= 1
        assert "first" in str(live.render())
        (project / "go").touch()
        await wait_for(pilot, lambda: view.status != "running")
        assert view.status == "completed"
        assert not live.display  # the live tail gives way to the result
        assert "first\nsecond\n" in view.output
        assert running_view(view.call_id) is None


async def test_the_live_tail_keeps_the_last_lines_only(make_app: Any) -> None:
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        view = ToolCallView("bash", {"command": "make"}, call_id="c_live")
        await app.chat.transcript.mount(view)
        for batch in range(50):
            view.add_live_output("".join(f"b{batch} l{i}\n" for i in range(100)), dropped=7)
        await pilot.pause()
        assert list(view.live_lines) == [f"b49 l{i}" for i in range(90, 100)]
        assert len(view.live_lines) == LIVE_LINES
        assert view.query_one(".tool-live").region.height == LIVE_LINES
        view.add_live_output("\x1b[31mFAILED\x1b[0m test_x \x1b]0;title\x07\n")
        plain = view.query_one(".tool-live").render().plain  # type: ignore[union-attr]
        assert plain.splitlines()[-1].startswith("FAILED test_x")  # colour kept as style
        assert "\x1b" not in plain and "\x07" not in plain  # no escape reaches the terminal
        view.finish("completed", "[exit code 0]", 5, {"exit_code": 0})
        view.add_live_output("late\n")  # a delta after the end changes nothing
        assert not view.live_lines and not view.has_class("-live")


async def test_a_flood_reaches_the_widget_as_a_few_merged_updates(
    make_app: Any, server: StreamServer
) -> None:
    from opencode.sessions.events import SessionEvent, ToolOutputDelta
    from tests.tools.test_live_output import FLOOD, FLOOD_LINES

    server.add(tool_call_reply("bash", {"command": FLOOD}), text_reply("Done."))
    app = make_app()
    deltas: list[ToolOutputDelta] = []

    def count(event: SessionEvent) -> None:
        if isinstance(event, ToolOutputDelta):
            deltas.append(event)

    async with app.run_test(size=(100, 30)) as pilot:
        app.engine.bus.subscribe(count)
        await type_and_send(pilot, "Flood")
        await allow_if_asked(pilot)
        await wait_for(pilot, lambda: app.chat.status.state == "ready", limit=60)
        view = app.chat.query_one(ToolCallView)
        assert view.status == "completed"
        assert view.duration_ms is not None
        assert 1 <= len(deltas) <= view.duration_ms / 50 + 2
        assert f"line {FLOOD_LINES}\n" in view.output
        assert "bytes omitted" in view.output  # the stored result is bounded as before
