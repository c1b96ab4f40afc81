"""Context windows: config, llama.cpp's /props and models lists served by a real loopback
server, and the engine asking only where it may."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opencode.sessions.config import load_config
from opencode.sessions.engine import Engine
from opencode.sessions.permissions_api import PermissionAnswer, PermissionRequest
from opencode.sessions.providers.base import ProviderConfig
from opencode.sessions.providers.resilience.context import (
    configured_window,
    endpoint_window,
    parse_props,
)
from tests.engine.helpers import fixture
from tests.support.stream_server import Reply, StreamServer

JSON = {"content-type": "application/json"}
# What llama.cpp's server answers on GET /props (trimmed to the fields that matter here).
PROPS = {
    "default_generation_settings": {"n_ctx": 8192, "params": {"n_predict": -1}},
    "total_slots": 1,
    "model_path": "/models/smollm2.gguf",
    "chat_template": "...",
}


def _json(data: object, status: int = 200) -> Reply:
    return Reply(body=json.dumps(data).encode(), status=status, headers=JSON, chunked=False)


def test_config_and_family_defaults() -> None:
    plain = ProviderConfig("p", "openai", "http://x/v1")
    assert configured_window(plain, "claude-sonnet-4") == 200_000
    assert configured_window(plain, "my-finetune") is None
    one = ProviderConfig("p", "openai", "http://x/v1", options={"context_window": 32768})
    assert configured_window(one, "gpt-4o") == 32768  # config wins over the family
    table = ProviderConfig("p", "openai", "http://x/v1", options={"context_window": {"a": 4096}})
    assert (configured_window(table, "a"), configured_window(table, "b")) == (4096, None)
    assert parse_props({"n_ctx": 4096}) == 4096  # older servers: top level
    assert parse_props({"default_generation_settings": {"n_ctx": "x"}}) is None


async def test_props_of_a_llama_cpp_server(stream_server: StreamServer) -> None:
    # /v1/models lists the model without a window; /props has n_ctx
    stream_server.add_get(_json({"object": "list", "data": [{"id": "smollm2", "object": "model"}]}))
    stream_server.add(_json(PROPS))
    provider = ProviderConfig("llamacpp", "openai", f"{stream_server.url}/v1")
    assert await endpoint_window(provider, "smollm2") == 8192
    assert [r.path for r in stream_server.gets + stream_server.requests] == [
        "/v1/models",
        "/props",
    ]


async def test_models_list_window_wins_and_a_dead_server_is_none(
    stream_server: StreamServer,
) -> None:
    stream_server.add_get(_json({"data": [{"id": "m", "max_model_len": 32768}]}))  # vLLM
    provider = ProviderConfig("vllm", "openai", f"{stream_server.url}/v1")
    assert await endpoint_window(provider, "m") == 32768
    dead = ProviderConfig("x", "openai", "http://127.0.0.1:9/v1")
    assert await endpoint_window(dead, "m") is None


async def test_engine_meter_uses_props_only_for_llamacpp(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    stream_server.add(Reply(body=fixture("openai_text.sse")))
    stream_server.add_get(_json({"error": "not found"}, status=404))
    stream_server.add(_json(PROPS))
    project = tmp_path / "p"
    project.mkdir()
    (project / "opencode.toml").write_text(
        'model = "llamacpp/smollm2"\n'
        f'[provider.llamacpp]\napi = "openai"\nbase_url = "{stream_server.url}/v1"\n'
        "max_retries = 0\n",
        encoding="utf-8",
    )

    async def asker(request: PermissionRequest) -> PermissionAnswer:
        return "deny"

    engine = Engine(load_config(project), project)
    await engine.open(asker)
    try:
        assert engine.context_usage() is None  # no call yet
        result = await engine.send("hi")
        assert result.finish == "stop", result.error
        assert engine.context_usage() == (29, None)
        assert await engine.refresh_context_window() == 8192
        assert engine.context_usage() == (29, 8192)
        asked = len(stream_server.requests) + len(stream_server.gets)
        assert await engine.refresh_context_window() == 8192  # remembered: asked once
        assert len(stream_server.requests) + len(stream_server.gets) == asked
    finally:
        await engine.close()


def test_a_bad_context_window_is_a_config_error(tmp_path: Path) -> None:
    from opencode.sessions.config import ConfigError
    from opencode.sessions.providers.resilience.settings import load_settings

    for bad in ('"big"', "-1", '{ "m" = 0 }', "true"):
        project = tmp_path / f"p{abs(hash(bad))}"
        project.mkdir()
        (project / "opencode.toml").write_text(
            f'model = "x/m"\n[provider.x]\napi = "openai"\nbase_url = "http://h/v1"\n'
            f"context_window = {bad}\n",
            encoding="utf-8",
        )
        with pytest.raises(ConfigError, match='context_window.*"auto"'):
            load_settings(load_config(project))
