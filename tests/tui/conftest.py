"""Fixtures for the TUI tests: a project folder, a loopback provider server, and an app built
on a real config file and a real SQLite store in tmp dirs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.stream_server import Reply, StreamServer

if TYPE_CHECKING:
    from opencode.tui.widgets.command_output import CommandOutput

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "streams"
SSE = {"content-type": "text/event-stream"}


def sse_reply(name: str, **kwargs: Any) -> Reply:
    return Reply(body=(FIXTURES / name).read_bytes(), headers=SSE, **kwargs)


def write_config(project: Path, url: str, extra: str = "") -> Path:
    config = project / "opencode.toml"
    config.write_text(
        f'model = "mock/test-model"\n{extra}\n'
        f'[provider.mock]\napi = "openai"\nbase_url = "{url}/v1"\n'
        'api_key = "sk-test-SECRET-1234"\nmodels = ["test-model", "other-model"]\n'
        "max_retries = 0\ntimeout = 10\n",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "hello.txt").write_text("hello world\n")
    return project


@pytest.fixture
def server() -> Iterator[StreamServer]:
    server = StreamServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_app(
    project: Path, server: StreamServer, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Any]:
    """Build an ``OpencodeApp`` in ``project`` talking to ``server``."""

    def make(**kwargs: Any) -> Any:
        from opencode.sessions.config import load_config
        from opencode.tui.app import OpencodeApp

        path = write_config(project, server.url, kwargs.pop("extra", ""))
        monkeypatch.setenv("OPENCODE_CONFIG", str(path))
        config = load_config(project)
        return OpencodeApp(config=config, cwd=project, **kwargs)

    return make


async def wait_for(pilot: Any, condition: Callable[[], Any], limit: float = 10.0) -> None:
    """Pause the pilot until ``condition()`` is truthy (fails the test after ``limit`` seconds)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {limit}s")
        await pilot.pause(0.02)
        await asyncio.sleep(0)


async def type_and_send(pilot: Any, text: str) -> None:
    prompt = pilot.app.chat.prompt
    prompt.focus()
    prompt.load_text(text)
    prompt.move_cursor(prompt.document.end)
    await pilot.press("enter")


async def send_turn(pilot: Any, text: str) -> None:
    """Send ``text`` from the prompt and wait until its turn is over (the chat is ready)."""
    chat = pilot.app.chat
    await type_and_send(pilot, text)
    await wait_for(pilot, lambda: chat.status.state == "ready" and not chat.running)


async def command_output(pilot: Any, line: str) -> CommandOutput:
    """Send the slash command ``line``; the output block it adds to the chat."""
    from opencode.tui.widgets.command_output import CommandOutput

    chat = pilot.app.chat
    count = len(chat.query(CommandOutput))
    await type_and_send(pilot, line)
    await wait_for(pilot, lambda: len(chat.query(CommandOutput)) > count)
    return chat.query(CommandOutput).last()
