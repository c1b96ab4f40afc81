"""Snapshot tests (pytest-textual-snapshot): the main screen, a streamed reply, an expanded tool
call, the permission modal and each panel. Regenerate with ``--snapshot-update`` and review the
SVGs. Frames are deterministic: fixed size, no blinking cursor, durations given by the events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opencode.sessions.events import (
    MessageFinished,
    MessageStarted,
    PartDelta,
    PartFinished,
    PartStarted,
    ToolFinished,
    ToolStarted,
    TurnFinished,
    Usage,
)
from tests.tui.conftest import type_and_send, wait_for

SIZE = (100, 30)

REPLY = """## Plan

The loader reads `opencode.toml` and **validates** each field:

- providers and their models
- permissions per tool
  - bash patterns

```python
def load(path: Path) -> Config:
    data = tomlkit.parse(path.read_text())
    return Config(**data)
```

1. run the tests
2. commit
"""

DIFF = """--- a/hello.txt
+++ b/hello.txt
@@ -1 +1 @@
-hello world
+hello there
"""


@pytest.fixture(autouse=True)
def home_above_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder the welcome block and the permission modal show reads ``~/proj``."""
    monkeypatch.setenv("HOME", str(project.parent))


async def settle(pilot: Any) -> None:
    from opencode.tui.widgets.welcome import Welcome

    app = pilot.app
    app.chat.prompt.cursor_blink = False
    await pilot.pause()
    # The welcome block's reachability check has answered (its text is part of the frame).
    await wait_for(pilot, lambda: all(w.checked for w in app.chat.query(Welcome)))
    await app.workers.wait_for_complete()
    await pilot.pause(0.1)


async def emit_reply(app: Any) -> str:
    sid: str = app.chat.transcript.session_id
    bus = app.engine.bus
    await bus.emit(MessageStarted(sid, "msg_u1", "user"))
    await bus.emit(PartStarted(sid, "msg_u1", "prt_u1", 1, "text", "How does the loader work?"))
    await bus.emit(MessageFinished(sid, "msg_u1", "stop"))
    await bus.emit(MessageStarted(sid, "msg_a1", "assistant", "mock/test-model"))
    await bus.emit(PartStarted(sid, "msg_a1", "prt_a1", 1, "text"))
    for i in range(0, len(REPLY), 7):
        await bus.emit(PartDelta(sid, "prt_a1", "text", REPLY[i : i + 7]))
    await bus.emit(PartFinished(sid, "prt_a1", "text"))
    return sid


def test_main_screen(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=settle)


def test_streamed_reply(snap_compare: Any, make_app: Any) -> None:
    async def run_before(pilot: Any) -> None:
        sid = await emit_reply(pilot.app)
        bus = pilot.app.engine.bus
        await bus.emit(MessageFinished(sid, "msg_a1", "stop", Usage(120, 80)))
        await bus.emit(TurnFinished(sid, "stop", Usage(120, 80), 1))
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_tool_call_expanded(snap_compare: Any, make_app: Any) -> None:
    async def run_before(pilot: Any) -> None:
        from opencode.tui.widgets.tool_call import ToolCallView

        app = pilot.app
        sid = await emit_reply(app)
        bus = app.engine.bus
        args = {"path": "hello.txt", "old_string": "world", "new_string": "there"}
        await bus.emit(ToolStarted(sid, "msg_a1", "prt_t1", 2, "call_1", "edit", args, "{}"))
        await bus.emit(
            ToolFinished(
                sid,
                "msg_a1",
                "prt_t1",
                "prt_r1",
                3,
                "call_1",
                "edit",
                "completed",
                "Edited hello.txt: replaced 1 occurrence (first at line 1; +1 -1)",
                42,
                {"diff": DIFF},
            )
        )
        await bus.emit(MessageFinished(sid, "msg_a1", "tool_calls", Usage(120, 80)))
        await bus.emit(TurnFinished(sid, "stop", Usage(120, 80), 1))
        await pilot.pause()
        view = app.chat.query_one(ToolCallView)
        view.focus()
        await pilot.press("enter")
        app.chat.transcript.scroll_end(animate=False)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(100, 40), run_before=run_before)


def test_permission_modal(snap_compare: Any, make_app: Any) -> None:
    async def run_before(pilot: Any) -> None:
        from opencode.tui.screens.permission import PermissionScreen

        pilot.app.chat.prompt.cursor_blink = False
        args = {"command": "rm -rf build/ && make", "timeout": 60}
        await pilot.app.push_screen(PermissionScreen("bash", "rm -rf build/ && make", args))
        await pilot.pause(0.1)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_backlog_panel(snap_compare: Any, make_app: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await type_and_send(pilot, "/backlog add Fix the parser --priority high")
        await type_and_send(pilot, "/backlog add Document the sync flow")
        await pilot.app.workers.wait_for_complete()
        await pilot.press("f2")
        panel = pilot.app.chat.query_one("BacklogPanel")
        await wait_for(pilot, lambda: len(panel.items) == 2)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(120, 30), run_before=run_before)


def test_targets_panel_empty(snap_compare: Any, make_app: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await pilot.press("f3")
        panel = pilot.app.chat.query_one("TargetsPanel")
        await wait_for(pilot, lambda: panel.loaded)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(120, 30), run_before=run_before)


def test_verification_panel_empty(snap_compare: Any, make_app: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await pilot.press("f4")
        panel = pilot.app.chat.query_one("VerificationPanel")
        await wait_for(pilot, lambda: panel.loaded)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(120, 30), run_before=run_before)
