"""What the engine says besides events reaches the chat: a rate-limit wait (a real 429 with
Retry-After from the loopback server), an automatic compaction (a tiny context window), and an
MCP server that cannot start. Each shows on the status line or as a toast, never on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.message import Message
from textual.notifications import Notify

from opencode.tui.widgets.markdown_stream import StreamingMarkdown
from tests.engine.helpers import openai_text_chunks
from tests.support.stream_server import Reply, StreamServer
from tests.tui.conftest import sse_reply, type_and_send, wait_for

LIMITED = Reply(
    b'{"error": {"message": "slow down"}}',
    status=429,
    headers={"content-type": "application/json", "retry-after": "1"},
    chunked=False,
)


def _app(
    project: Path,
    server: StreamServer,
    monkeypatch: pytest.MonkeyPatch,
    extra: str,
    provider_extra: str = "",
) -> Any:
    """An app whose provider retries once (the shared fixture's provider never retries)."""
    from opencode.sessions.config import load_config
    from opencode.tui.app import OpencodeApp

    config = project / "opencode.toml"
    config.write_text(
        f'model = "mock/test-model"\n{extra}\n'
        f'[provider.mock]\napi = "openai"\nbase_url = "{server.url}/v1"\n'
        'api_key = "sk-test-SECRET-1234"\nmodels = ["test-model"]\n'
        f"max_retries = 1\ntimeout = 10\n{provider_extra}",
        encoding="utf-8",
    )
    monkeypatch.setenv("OPENCODE_CONFIG", str(config))
    return OpencodeApp(config=load_config(project), cwd=project)


class Toasts:
    """The notifications the app posted (``run_test(message_hook=...)``)."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.seen.append(message.notification)

    def texts(self) -> list[str]:
        return [n.message for n in self.seen]


async def test_a_rate_limit_wait_is_shown_while_it_waits(
    project: Path, server: StreamServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add(LIMITED, sse_reply("openai_text.sse"))
    app = _app(project, server, monkeypatch, "")
    toasts = Toasts()
    notes: list[str] = []
    async with app.run_test(size=(140, 30), message_hook=toasts) as pilot:
        status = app.chat.status
        await type_and_send(pilot, "hello")
        await wait_for(pilot, lambda: "rate limited" in status.note)
        notes.append(status.note)
        await wait_for(pilot, lambda: status.state == "ready")
        assert "rate limited" not in status.note  # the call was made: the wait is history
        assert "How can I help you today?" in app.chat.query(StreamingMarkdown).last().text
    # who and why come from the notice's fields (reason, provider, seconds), not its text
    assert notes == ["rate limited by mock, retrying in 1 s"]
    assert any(text == "rate limited by mock, retrying in 1 s" for text in toasts.texts())
    assert len(server.requests) == 2


async def test_an_automatic_compaction_is_announced(
    project: Path, server: StreamServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add(
        Reply(body=openai_text_chunks(["noted"])),
        Reply(body=openai_text_chunks(["SUMMARY of the first turn"])),
        Reply(body=openai_text_chunks(["second answer"])),
    )
    app = _app(
        project,
        server,
        monkeypatch,
        "[compaction]\nthreshold = 0.5\nkeep_recent_turns = 0\n",
        "context_window = 200\n",
    )
    toasts = Toasts()
    async with app.run_test(size=(140, 30), message_hook=toasts) as pilot:
        status = app.chat.status
        await type_and_send(pilot, "Please remember this requirement: " + "alpha " * 120)
        await wait_for(pilot, lambda: status.state == "ready" and len(server.requests) == 1)
        await type_and_send(pilot, "short follow-up")
        await wait_for(pilot, lambda: len(server.requests) == 3)
        await wait_for(pilot, lambda: status.state == "ready")
        note = status.note
    assert note.startswith("context compacted: ") and note.endswith(" tokens")
    before, after = note.removeprefix("context compacted: ").removesuffix(" tokens").split(" -> ")
    assert int(after) < int(before)
    assert any(t.startswith("context compacted: ") for t in toasts.texts())


async def test_an_mcp_server_that_cannot_start_is_a_toast_not_stderr(
    project: Path,
    server: StreamServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server.add(sse_reply("openai_text.sse"))
    missing = project / "no-such-mcp-server"
    app = _app(project, server, monkeypatch, f'[mcp.broken]\ncommand = "{missing}"\n')
    toasts = Toasts()
    async with app.run_test(size=(140, 30), message_hook=toasts) as pilot:
        await type_and_send(pilot, "hello")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        await wait_for(pilot, lambda: any("broken" in text for text in toasts.texts()))
    (warning,) = [n for n in toasts.seen if "broken" in n.message]
    assert warning.severity == "warning" and "continuing without its tools" in warning.message
    assert "broken" not in capsys.readouterr().err
