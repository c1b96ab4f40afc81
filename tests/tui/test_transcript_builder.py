"""One transcript builder for live and stored history: a session looks the same while it
streams and when it is reopened from the store, because stored messages are replayed as the
events the live stream produced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App
from textual.widget import Widget
from textual.widgets import Static

from opencode.sessions.events import (
    MessageFinished,
    MessageStarted,
    PartDelta,
    PartFinished,
    PartStarted,
    SessionEvent,
    ToolFinished,
    ToolStarted,
)
from opencode.sessions.store.sessions import MessageRecord, PartRecord
from opencode.tui.replay import replay
from opencode.tui.widgets.markdown_stream import StreamingMarkdown
from opencode.tui.widgets.message_views import (
    AssistantMessage,
    ErrorNotice,
    ReasoningBlock,
    UserMessage,
)
from opencode.tui.widgets.tool_call import ToolCallView
from opencode.tui.widgets.transcript_builder import TranscriptBuilder
from tests.support.stream_server import StreamServer
from tests.tui.conftest import sse_reply, type_and_send, wait_for

ASK_EDIT = '[permission]\nedit = "ask"\n'


def describe(widget: Widget) -> Any:
    """What a person sees of a transcript widget, as plain data."""
    if isinstance(widget, UserMessage):
        return ("user", widget.text)
    if isinstance(widget, StreamingMarkdown):
        return ("markdown", widget.text, widget.finished)
    if isinstance(widget, ReasoningBlock):
        return ("reasoning", widget.stream.text, widget.title, widget.collapsed)
    if isinstance(widget, ToolCallView):
        return (
            "tool",
            widget.tool,
            widget.arguments,
            widget.status,
            widget.output,
            widget.has_class("-after-text"),
        )
    if isinstance(widget, ErrorNotice):
        return ("error", widget.message, widget.hint)
    if isinstance(widget, AssistantMessage):
        children = list(widget.children) or widget._initial
        return ("assistant", widget.message_id, [describe(c) for c in children])
    if isinstance(widget, Static) and widget.has_class("interrupted"):
        return ("interrupted",)
    return (type(widget).__name__,)


def transcript_view(app: Any) -> list[Any]:
    return [
        describe(w)
        for w in app.chat.transcript.children
        if isinstance(w, UserMessage | AssistantMessage | ErrorNotice)
    ]


async def test_a_session_looks_the_same_live_and_reopened_from_the_store(
    make_app: Any, server: StreamServer, project: Path
) -> None:
    from opencode.tui.screens.permission import PermissionScreen

    server.add(sse_reply("openai_step1_edit_call.sse"), sse_reply("openai_step2_final.sse"))
    server.add(sse_reply("openai_reasoning.sse"))
    app = make_app(extra=ASK_EDIT)
    async with app.run_test(size=(100, 40)) as pilot:
        await type_and_send(pilot, "Change world to there")
        await wait_for(pilot, lambda: isinstance(app.screen, PermissionScreen))
        await wait_for(pilot, lambda: app.screen.armed)
        await pilot.press("a")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        await type_and_send(pilot, "2+2?")
        await wait_for(pilot, lambda: app.chat.status.state == "ready" and not app.chat.running)
        await pilot.pause()
        live = transcript_view(app)
        kinds = [entry[0] for entry in live]
        assert kinds.count("user") == 2 and "assistant" in kinds
        flat = repr(live)
        assert "'tool', 'edit'" in flat and "'reasoning'" in flat

        session_id = app.engine.session.id
        assert await app.chat.open_session(session_id=session_id)
        await pilot.pause()
        assert transcript_view(app) == live


def _part(message_id: str, seq: int, kind: str, content: str = "", **kw: Any) -> PartRecord:
    return PartRecord(
        id=f"prt_{message_id}_{seq}",
        message_id=message_id,
        seq=seq,
        kind=kind,
        content=content,
        tool_name=kw.get("tool_name"),
        tool_call_id=kw.get("tool_call_id"),
        tool_args=kw.get("tool_args"),
        status=kw.get("status", "done"),
        metadata=kw.get("metadata", {}),
    )


def _message(message_id: str, role: str, parts: list[PartRecord], finish: str | None) -> Any:
    return MessageRecord(
        id=message_id,
        session_id="ses_1",
        role=role,
        model=None if role == "user" else "mock/test-model",
        finish=finish,
        input_tokens=None,
        output_tokens=None,
        created_at=0.0,
        parts=parts,
    )


async def test_replayed_records_build_what_the_live_events_built() -> None:
    live_events: list[SessionEvent] = [
        MessageStarted("ses_1", "msg_a", "assistant", "mock/test-model"),
        PartStarted("ses_1", "msg_a", "p1", 1, "text"),
        PartDelta("ses_1", "p1", "text", "Reading "),
        PartDelta("ses_1", "p1", "text", "the file."),
        PartFinished("ses_1", "p1", "text"),
        ToolStarted("ses_1", "msg_a", "p2", 2, "c1", "read", {"path": "a.py"}, '{"path":"a.py"}'),
        ToolFinished("ses_1", "msg_a", "p2", "p3", 3, "c1", "read", "completed", "1: x\n", 3),
        MessageFinished("ses_1", "msg_a", "tool_calls"),
    ]
    stored = _message(
        "msg_a",
        "assistant",
        [
            _part("msg_a", 1, "text", "Reading the file."),
            _part(
                "msg_a",
                2,
                "tool_call",
                tool_name="read",
                tool_call_id="c1",
                tool_args='{"path":"a.py"}',
                status="completed",
            ),
            _part("msg_a", 3, "tool_result", "1: x\n", tool_call_id="c1", status="completed"),
        ],
        "tool_calls",
    )
    async with App[None]().run_test():  # widgets are made inside an app
        live = TranscriptBuilder().build(live_events)
        replayed = TranscriptBuilder().build(replay([stored]))
    assert [describe(w) for w in replayed] == [describe(w) for w in live]
    tool = describe(live[0])[2][1]
    assert tool == ("tool", "read", {"path": "a.py"}, "completed", "1: x\n", True)


async def test_a_message_cut_off_mid_tool_replays_as_interrupted() -> None:
    """A process killed while a tool ran leaves no finish and no result: the call shows as
    interrupted, not as a spinner that never stops; two calls with no provider id both show."""
    stored = _message(
        "msg_b",
        "assistant",
        [
            _part("msg_b", 1, "reasoning", "Let me look."),
            _part("msg_b", 2, "tool_call", tool_name="bash", tool_args="{not json", status="done"),
            _part("msg_b", 3, "tool_call", tool_name="read", tool_args="{}", status="running"),
        ],
        None,
    )
    question = _message("msg_q", "user", [_part("msg_q", 1, "text", "go")], "stop")
    async with App[None]().run_test():
        widgets = TranscriptBuilder().build(replay([question, stored]))
    assert describe(widgets[0]) == ("user", "go")
    assert describe(widgets[1]) == (
        "assistant",
        "msg_b",
        [
            ("reasoning", "Let me look.", "Thought", True),
            ("tool", "bash", {}, "done", "", False),
            ("tool", "read", {}, "interrupted", "", False),
            ("interrupted",),
        ],
    )
