"""/rewind and /fork in the chat (Pilot, a real store, a loopback provider making tool
calls): the picker lists the turns with the files they changed; picking one restores the
files, takes the later messages out of the transcript and says what it did; /fork switches to
a copy whose parent is the original."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.rewind.script import text_reply, tool_reply
from tests.support.stream_server import StreamServer
from tests.tui.conftest import type_and_send, wait_for, write_config


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "hello.txt").write_text("hello world\n")
    return project


@pytest.fixture
def server() -> Iterator[StreamServer]:
    with StreamServer([]) as server:
        yield server


def make_app(project: Path, server: StreamServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    from opencode.sessions.config import load_config
    from opencode.tui.app import OpencodeApp

    path = write_config(project, server.url, '[permission]\nwrite = "allow"\nedit = "allow"\n')
    monkeypatch.setenv("OPENCODE_CONFIG", str(path))
    return OpencodeApp(config=load_config(project), cwd=project)


def rows(app: Any, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(app.config.db_path)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


async def test_rewind_picker_restores_files_and_conversation(
    project: Path, server: StreamServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencode.tui.screens.rewind import RewindScreen

    server.add(
        tool_reply("write", path="notes.md", content="# notes\n"),
        text_reply("wrote it"),
        tool_reply("edit", path="hello.txt", old_string="world", new_string="there"),
        text_reply("edited"),
    )
    app = make_app(project, server, monkeypatch)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_and_send(pilot, "make notes")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        await type_and_send(pilot, "change hello")
        await wait_for(pilot, lambda: (project / "hello.txt").read_text() == "hello there\n")
        await wait_for(pilot, lambda: app.chat.status.state == "ready" and not app.chat.running)

        await type_and_send(pilot, "/rewind")
        await wait_for(pilot, lambda: isinstance(app.screen, RewindScreen))
        labels = [step.text for step in app.screen.steps]
        assert labels[0] == "make notes" and labels[2] == "change hello"
        assert app.screen.steps[0].files == ["notes.md"]
        assert app.screen.steps[1].text.startswith("write ")
        assert app.screen.steps[3].files == ["hello.txt"]

        await pilot.press("up")  # from the last step (the edit) to "change hello"
        await pilot.press("enter")
        await wait_for(pilot, lambda: (project / "hello.txt").read_text() == "hello world\n")
        assert (project / "notes.md").exists(), "the earlier turn's file stays"
        await wait_for(
            pilot, lambda: any("Rewound" in o.plain for o in app.chat.query("CommandOutput"))
        )
        said = next(o.plain for o in app.chat.query("CommandOutput") if "Rewound" in o.plain)
        assert "restored             hello.txt" in said
        rewound = rows(app, "SELECT COUNT(*) FROM message WHERE rewound_at IS NOT NULL")
        assert rewound[0][0] == 3  # "change hello", the edit step, the reply
        visible = await app.engine.messages(app.engine.session.id)
        assert [m.text() for m in visible if m.role == "user"] == ["make notes"]

        source = app.engine.session.id
        await type_and_send(pilot, "/fork")
        await wait_for(pilot, lambda: app.engine.session and app.engine.session.id != source)
        forked = rows(
            app, f"SELECT parent_id, title FROM session WHERE id = '{app.engine.session.id}'"
        )
        assert forked[0][0] == source and forked[0][1].startswith("Fork of ")


async def test_escape_twice_opens_the_rewind_picker(
    project: Path, server: StreamServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencode.tui.screens.rewind import RewindScreen

    server.add(text_reply("hi"))
    app = make_app(project, server, monkeypatch)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_and_send(pilot, "hello")
        await wait_for(pilot, lambda: app.chat.status.state == "ready" and not app.chat.running)
        await pilot.press("escape")
        await pilot.pause(0.6)
        await pilot.press("escape")  # too late for a pair: still the chat
        await pilot.pause(0.1)
        assert not isinstance(app.screen, RewindScreen)
        await pilot.pause(0.6)
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RewindScreen))
        assert [s.text for s in app.screen.steps] == ["hello"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RewindScreen))
