"""A non-streamed request whose body fails part-way closes the upstream stream and counts
itself done at once (not when the generator is garbage-collected). In process: the failure is a
provider raising mid-stream, which nothing real produces on demand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import httpx
import pytest

from opencode.commands.proxy.app import ProxyState, build_app
from opencode.sessions.config import load_config
from opencode.sessions.events import ProviderError, ProviderEvent, TextDelta
from opencode.sessions.providers.base import ProviderConfig


class Failing:
    """A provider that sends some text, then fails (an error event or an exception)."""

    def __init__(self, how: str, config: ProviderConfig) -> None:
        self.config = config
        self.how = how
        self.closed = 0

    async def stream(self, request: Any) -> AsyncGenerator[ProviderEvent, None]:
        try:
            yield TextDelta("partial ")
            yield TextDelta("answer ")
            if self.how == "raise":
                raise RuntimeError("the adapter broke mid-body")
            yield ProviderError("upstream reset mid-body", status=502)
            await asyncio.sleep(3600)  # an upstream that would otherwise stay open
        finally:
            self.closed += 1

    async def aclose(self) -> None:
        pass


def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> tuple[ProxyState, Failing]:
    monkeypatch.setenv("OPENCODE_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "opencode.toml").write_text(
        'model = "mock/m"\n[provider.mock]\napi = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'models = ["m"]\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path, warn=lambda line: None)
    provider = Failing(how, config.providers["mock"])
    return ProxyState(config=config, store=None, provider_factory=lambda c: provider), provider


BODY = {"model": "mock/m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_an_upstream_error_mid_body_closes_and_decrements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    state, provider = _state(tmp_path, monkeypatch, "error")
    body = dict(BODY, max_tokens=5) if path == "/v1/messages" else BODY

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=build_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
            reply = await client.post(path, json=body)
            # Checked before the client (and its references) go away.
            assert state.active == 0
            assert provider.closed == 1
            return reply

    reply = asyncio.run(go())
    assert reply.status_code == 502
    assert "upstream reset mid-body" in reply.text


def test_an_exception_mid_body_closes_and_decrements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, provider = _state(tmp_path, monkeypatch, "raise")

    async def go() -> None:
        transport = httpx.ASGITransport(app=build_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
            # The traceback keeps the request's frame (and its stream) alive: only an explicit
            # close can have ended the upstream stream here.
            with pytest.raises(RuntimeError, match="broke mid-body"):
                await client.post("/v1/chat/completions", json=BODY)
            assert state.active == 0
            assert provider.closed == 1

    asyncio.run(go())
