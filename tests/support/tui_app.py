"""Helpers shared by the TUI tests and benchmarks (not shipped in the package): an app on a
temp data dir, and feeding it session events as the runner would."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from opencode.sessions.events import (
    MessageFinished,
    MessageStarted,
    PartDelta,
    PartFinished,
    PartStarted,
    SessionEvent,
    TurnFinished,
    Usage,
)
from opencode.sessions.ids import new_id
from opencode.tui.app import OpencodeApp
from opencode.tui.widgets.markdown_stream import StreamingMarkdown


def config_for_tests(data_dir: Path, base_url: str = "http://127.0.0.1:9/v1") -> Any:
    """A ``Config`` with one openai-compatible provider ``mock`` at ``base_url``."""
    from opencode.sessions.config import load_config

    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "opencode.toml"
    path.write_text(
        f'model = "mock/test-model"\ndata_dir = "{data_dir}"\n'
        f'[provider.mock]\napi = "openai"\nbase_url = "{base_url}"\n'
        'api_key = "sk-test"\nmodels = ["test-model", "other-model"]\nmax_retries = 0\n',
        encoding="utf-8",
    )
    previous = os.environ.get("OPENCODE_CONFIG")
    os.environ["OPENCODE_CONFIG"] = str(path)
    try:
        return load_config(data_dir)
    finally:
        if previous is None:
            del os.environ["OPENCODE_CONFIG"]
        else:
            os.environ["OPENCODE_CONFIG"] = previous


async def make_test_app(
    tmp: Path, *, base_url: str = "http://127.0.0.1:9/v1", **kwargs: Any
) -> OpencodeApp:
    config = config_for_tests(tmp / "data", base_url)
    return OpencodeApp(config=config, cwd=tmp, **kwargs)


async def stream_events_into(
    app: OpencodeApp, session_id: str | None = None
) -> tuple[StreamingMarkdown, Callable[[str], Awaitable[None]], Callable[[], Awaitable[None]]]:
    """Start an assistant message with one text part on the app's event bus, as the runner
    does; return its widget, an async ``push(text)`` that emits one ``PartDelta`` through the
    bus (the store writer, then the transcript), and ``done()`` that finishes the turn.

    Without an open session (``open_session=False``) the events go to the transcript only,
    under ``session_id``: there is no session row for the store writer to attach them to."""
    transcript = app.chat.transcript
    bus = app.engine.bus
    if transcript.session_id is not None and session_id is None:
        sid = transcript.session_id

        async def deliver(event: SessionEvent) -> None:
            await bus.emit(event)
    else:
        sid = session_id or "ses_test"
        transcript.session_id = sid

        async def deliver(event: SessionEvent) -> None:
            transcript.handle_event(event)

    message_id, part_id = new_id("msg"), new_id("prt")
    await deliver(MessageStarted(sid, message_id, "assistant", "mock/test-model"))
    await deliver(PartStarted(sid, message_id, part_id, 1, "text"))
    await asyncio.sleep(0.05)  # let the new widgets mount and get a size
    widget = transcript.open_stream(part_id)
    assert widget is not None

    async def push(text: str) -> None:
        await deliver(PartDelta(sid, part_id, "text", text))

    async def done() -> None:
        await deliver(PartFinished(sid, part_id, "text"))
        await deliver(MessageFinished(sid, message_id, "stop", Usage(10, 5000)))
        await deliver(TurnFinished(sid, "stop", Usage(10, 5000), 1))

    return widget, push, done


LONG_REPLY = "\n\n".join(f"Paragraph {n}: a line of a long answer." for n in range(300))


async def stream_long_turns(
    app: OpencodeApp, pilot: Any, turns: int, *, session_id: str = "ses_long"
) -> None:
    """``turns`` questions, each answered with ``LONG_REPLY`` (600 rendered lines) streamed
    through the transcript alone (no session row, as ``open_session=False``); each answer is
    waited for until it is rendered, so the transcript's line budget has seen it."""
    from tests.tui.conftest import wait_for

    transcript = app.chat.transcript
    sid = session_id
    for turn in range(turns):
        user = new_id("msg")
        transcript.session_id = sid
        transcript.handle_event(MessageStarted(sid, user, "user"))
        transcript.handle_event(PartStarted(sid, user, new_id("prt"), 1, "text", f"q {turn}"))
        transcript.handle_event(MessageFinished(sid, user, "stop"))
        widget, push, done = await stream_events_into(app, session_id=sid)
        await push(LONG_REPLY)
        await done()
        await wait_for(pilot, lambda w=widget: w.size.height > 500)  # type: ignore[misc]
    await pilot.pause()


SEED_REPLY = (
    "Here is what I changed in `config.py`:\n\n"
    "- read the file with `tomlkit`\n- validate providers\n\n"
    "```python\ndef load(path):\n    return tomlkit.parse(path.read_text())\n```\n\n"
    "Run the tests with `pytest -q`."
)


async def seed_long_session(db_path: Path, cwd: Path, messages: int, *, title: str = "") -> str:
    """Write a session of ``messages`` messages (user/assistant turns, every tenth assistant
    message with a tool call) straight into the store; return its id."""
    import json
    import time

    from opencode.sessions.ids import new_id
    from opencode.sessions.store.db import Store
    from opencode.sessions.store.sessions import SessionRepo

    store = await Store.open(db_path)
    try:
        record = await SessionRepo(store).create(
            cwd=cwd, model="mock/test-model", title=title or f"{messages} messages"
        )
        now = time.time()
        message_rows: list[tuple[Any, ...]] = []
        part_rows: list[tuple[Any, ...]] = []
        for i in range(messages):
            message_id = new_id("msg")
            role = "user" if i % 2 == 0 else "assistant"
            message_rows.append(
                (
                    message_id,
                    record.id,
                    role,
                    None if role == "user" else "mock/test-model",
                    "stop",
                    now + i,
                    now + i,
                )
            )
            if role == "user":
                part_rows.append(
                    (
                        new_id("prt"),
                        message_id,
                        record.id,
                        1,
                        "text",
                        f"Question {i}: fix it",
                        None,
                        None,
                        None,
                        "done",
                        None,
                        now,
                        now,
                    )
                )
                continue
            part_rows.append(
                (
                    new_id("prt"),
                    message_id,
                    record.id,
                    1,
                    "text",
                    f"Answer {i}. {SEED_REPLY}",
                    None,
                    None,
                    None,
                    "done",
                    None,
                    now,
                    now,
                )
            )
            if i % 10 == 1:
                call = f"call_{i}"
                args = json.dumps({"path": "config.py"})
                part_rows.append(
                    (
                        new_id("prt"),
                        message_id,
                        record.id,
                        2,
                        "tool_call",
                        "",
                        "read",
                        call,
                        args,
                        "completed",
                        json.dumps({"duration_ms": 3}),
                        now,
                        now,
                    )
                )
                part_rows.append(
                    (
                        new_id("prt"),
                        message_id,
                        record.id,
                        3,
                        "tool_result",
                        "1: import x\n",
                        "read",
                        call,
                        None,
                        "completed",
                        json.dumps({"duration_ms": 3}),
                        now,
                        now,
                    )
                )
        async with store.transaction():
            await store.executemany(
                "INSERT INTO message (id, session_id, role, model, finish, created_at,"
                " finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                message_rows,
            )
            await store.executemany(
                "INSERT INTO part (id, message_id, session_id, seq, kind, content, tool_name,"
                " tool_call_id, tool_args, status, metadata, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                part_rows,
            )
        return record.id
    finally:
        await store.close()
