"""/copy puts the last reply (or the Nth last) on the clipboard: through the terminal (OSC 52,
seen through the app), a clipboard program where one works, and always a file."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from opencode.tui.widgets.command_output import CommandOutput
from tests.engine.helpers import openai_text_chunks
from tests.support.stream_server import Reply, StreamServer
from tests.tui.conftest import SSE, type_and_send, wait_for


def reply(text: str) -> Reply:
    return Reply(
        body=openai_text_chunks([text[: len(text) // 2], text[len(text) // 2 :]]), headers=SSE
    )


async def last_output(pilot: Any, line: str) -> CommandOutput:
    app = pilot.app
    count = len(app.chat.query(CommandOutput))
    await type_and_send(pilot, line)
    await wait_for(pilot, lambda: len(app.chat.query(CommandOutput)) > count)
    return app.chat.query(CommandOutput).last()


@pytest.fixture
def no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)


async def test_copy_the_last_and_the_nth_last_reply(
    make_app: Any, server: StreamServer, no_display: None
) -> None:
    server.add(reply("First **answer**.\n"), reply("Second answer, `code`.\n"))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        failed = await last_output(pilot, "/copy")
        assert failed.has_class("-failed") and "there is none yet" in failed.plain
        for prompt in ("one", "two"):
            await type_and_send(pilot, prompt)
            await wait_for(pilot, lambda: app.chat.status.state == "ready" and not app.chat.running)
        done = await last_output(pilot, "/copy")
        assert not done.has_class("-failed"), done.plain
        assert app.clipboard == "Second answer, `code`.\n"  # the OSC 52 path, as the app saw it
        saved = app.config.data_dir / "last-copy.md"
        assert f"also saved to {saved}" in done.plain and "terminal (OSC 52)" in done.plain
        assert saved.read_text() == "Second answer, `code`.\n"
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        second = await last_output(pilot, "/copy 2")
        assert "reply 2 from the last" in second.plain
        assert app.clipboard == "First **answer**.\n" == saved.read_text()
        too_far = await last_output(pilot, "/copy 3")
        assert too_far.has_class("-failed") and "there are only 2" in too_far.plain
    assert len(server.requests) == 2


async def test_copy_uses_a_clipboard_program_where_there_is_one(
    make_app: Any, server: StreamServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real subprocess named xclip on PATH (this machine has no X display): it gets the text
    on stdin, as xclip would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    got = tmp_path / "xclip-got.txt"
    script = bin_dir / "xclip"
    script.write_text(f'#!/bin/sh\n[ "$1 $2" = "-selection clipboard" ] || exit 3\ncat > {got}\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DISPLAY", ":77")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    server.add(reply("Copy me.\n"))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, "hi")
        await wait_for(pilot, lambda: app.chat.status.state == "ready" and not app.chat.running)
        done = await last_output(pilot, "/copy")
        assert "sent to the terminal (OSC 52) and xclip" in done.plain, done.plain
    assert got.read_text() == "Copy me.\n"


async def test_a_reply_too_large_for_osc52_is_not_sent_and_the_user_is_told(
    make_app: Any, server: StreamServer, no_display: None
) -> None:
    """tmux drops an OSC 52 escape past 1 MiB without a word: a 2 MB reply left the clipboard
    holding the previous copy while /copy said it was copied."""
    big = "".join(f"line {i:06} of a long reply\n" for i in range(40_000))  # 1.1 MB
    server.add(reply("small\n"), reply(big))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        for prompt in ("one", "two"):
            await type_and_send(pilot, prompt)
            await wait_for(pilot, lambda: app.chat.status.state == "ready" and not app.chat.running)
        small = await last_output(pilot, "/copy 2")
        assert app.clipboard == "small\n" and "copied" in small.plain
        done = await last_output(pilot, "/copy")
        assert app.clipboard == "small\n"  # no escape that the terminal would drop
        assert "too large for the terminal's clipboard escape" in done.plain, done.plain
        assert "the clipboard was not changed" in done.plain
        saved = app.config.data_dir / "last-copy.md"
        assert f"also saved to {saved}" in done.plain and saved.read_text() == big
