"""Model lists of each wire kind, fetched from loopback servers, cached with a TTL."""

from __future__ import annotations

import json
from pathlib import Path

from opencode.sessions.providers.base import ProviderConfig
from opencode.sessions.providers.resilience.models import ModelCatalog, is_listed
from opencode.sessions.store.db import Store
from tests.resilience.helpers import SECRET
from tests.support.stream_server import Reply, StreamServer


def _json(data: object) -> Reply:
    return Reply(
        body=json.dumps(data).encode(), headers={"content-type": "application/json"}, chunked=False
    )


async def test_ollama_tags_and_the_latest_tag(tmp_path: Path, stream_server: StreamServer) -> None:
    stream_server.add_get(_json({"models": [{"name": "llama3:latest"}, {"name": "qwen2.5:7b"}]}))
    config = ProviderConfig(name="ol", api="ollama", base_url=stream_server.url)
    store = await Store.open(tmp_path / "db.sqlite")
    try:
        catalog = ModelCatalog(store)
        listing = await catalog.get(config)
        assert listing.models == ("llama3:latest", "qwen2.5:7b")
        assert stream_server.gets[0].path == "/api/tags"
        assert is_listed(config, "llama3", listing.models)
        assert await catalog.unknown_model(config, "llama3") is None
        problem = await catalog.unknown_model(config, "qwen2.5:7")
        assert problem is not None and "did you mean 'qwen2.5:7b'" in problem
    finally:
        await store.close()


async def test_anthropic_models_with_its_headers_and_ttl(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    stream_server.add_get(_json({"data": [{"id": "claude-sonnet-4-5", "type": "model"}]}))
    config = ProviderConfig(
        name="an", api="anthropic", base_url=stream_server.url + "/v1", api_key=SECRET
    )
    store = await Store.open(tmp_path / "db.sqlite")
    now = [1000.0]
    try:
        catalog = ModelCatalog(store, ttl_s=60, clock=lambda: now[0])
        assert (await catalog.get(config)).models == ("claude-sonnet-4-5",)
        request = stream_server.gets[0]
        assert request.path.startswith("/v1/models")
        assert request.headers["x-api-key"] == SECRET and "anthropic-version" in request.headers
        # a fresh catalog (another process) reads the cache; after the TTL it is unknown again
        other = ModelCatalog(store, ttl_s=60, clock=lambda: now[0] + 30)
        assert (await other.get(config)).cached
        stale = ModelCatalog(store, ttl_s=60, clock=lambda: now[0] + 61)
        assert await stale.cached(config) is None
        assert await stale.unknown_model(config, "anything") is None  # unknown list: no refusal
        assert len(stream_server.gets) == 1
    finally:
        await store.close()
