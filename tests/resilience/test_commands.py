"""`opencode provider status|log|models` as real subprocesses over a real database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.engine.helpers import opencode, whole_db_text
from tests.resilience.helpers import (
    SECRET,
    dead_url,
    errors_of,
    harness,
    json_error,
    provider_toml,
    text_of,
)
from tests.support.stream_server import Reply, StreamServer

MODELS = Reply(
    body=json.dumps({"object": "list", "data": [{"id": "m2"}, {"id": "gpt-4o-mini"}]}).encode(),
    headers={"content-type": "application/json"},
    chunked=False,
)


def _populate(tmp_path: Path, text: str, times: int = 1) -> None:
    async def go() -> None:
        h = await harness(tmp_path, text)
        try:
            for _ in range(times):
                await h.ask()
        finally:
            await h.aclose()

    asyncio.run(go())


def test_log_and_status_show_the_fallback_and_keep_secrets_out(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    from tests.resilience.helpers import text_reply

    stream_server.add(text_reply())
    dead = dead_url().replace("http://", f"http://user:{SECRET}@")
    text = provider_toml("a", dead, 'fallback = ["b/m2"]') + provider_toml("b", stream_server.url)
    _populate(tmp_path, text)
    project = tmp_path / "project"

    log = opencode(project, "provider", "log", "--since", "10m", "--format", "json")
    assert log.code == 0, log.stderr
    rows = json.loads(log.stdout)
    assert [(r["provider"], r["status"], r["fallback_step"]) for r in rows] == [
        ("a", "error", 0),
        ("b", "ok", 1),
    ]
    assert rows[0]["endpoint"].startswith("http://user:***@127.0.0.1:")
    assert SECRET not in log.stdout and SECRET not in whole_db_text()

    status = opencode(project, "provider", "status", "--format", "json")
    assert status.code == 0, status.stderr
    by_name = {s["provider"]: s for s in json.loads(status.stdout)}
    assert by_name["a"]["breaker"] == "closed" and by_name["a"]["consecutive_failures"] == 1
    assert (
        by_name["a"]["errors_last_hour"] == 1 and "could not connect" in by_name["a"]["last_error"]
    )
    assert by_name["b"]["calls_last_hour"] == 1 and by_name["b"]["p50_ms"] is not None

    plain = opencode(project, "provider", "status")
    assert plain.code == 0 and "closed" in plain.stdout and "P95 MS" in plain.stdout


def test_status_says_open_after_the_threshold(tmp_path: Path, stream_server: StreamServer) -> None:
    stream_server.add(json_error(503, "maintenance"))
    text = provider_toml("a", stream_server.url, "failure_threshold = 2").replace(
        "max_retries = 2", "max_retries = 0"
    )
    _populate(tmp_path, text, times=3)
    status = opencode(tmp_path / "project", "provider", "status", "--format", "json")
    (entry,) = json.loads(status.stdout)
    assert entry["breaker"] == "open" and "maintenance" in entry["last_error"]
    assert 0 < entry["probe_in_s"] <= 30
    assert len(stream_server.requests) == 2


def test_bad_resilience_config_is_exit_2_naming_the_key(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "opencode.toml").write_text(
        'model = "a/m1"\n' + provider_toml("a", "http://127.0.0.1:9", 'fallback = ["nope/x"]'),
        encoding="utf-8",
    )
    run = opencode(project, "provider", "status")
    assert run.code == 2
    assert "provider.a.fallback[0]" in run.stderr and "unknown provider 'nope'" in run.stderr


def test_models_are_fetched_cached_and_refreshed(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    stream_server.add_get(MODELS)
    project = tmp_path / "project"
    project.mkdir()
    (project / "opencode.toml").write_text(
        'model = "b/m2"\n' + provider_toml("b", stream_server.url), encoding="utf-8"
    )
    first = opencode(project, "provider", "models", "--format", "json")
    assert first.code == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["models"] == ["gpt-4o-mini", "m2"] and data["cached"] is False
    assert stream_server.gets[0].path == "/v1/models"
    assert stream_server.gets[0].headers["authorization"] == f"Bearer {SECRET}"
    second = opencode(project, "provider", "models", "b", "--format", "json")
    assert json.loads(second.stdout)["cached"] is True and len(stream_server.gets) == 1
    third = opencode(project, "provider", "models", "b", "--refresh")
    assert third.code == 0 and "gpt-4o-mini" in third.stdout and len(stream_server.gets) == 2


def test_models_from_a_dead_endpoint_is_a_clear_error(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "opencode.toml").write_text(
        'model = "b/m2"\n' + provider_toml("b", dead_url()), encoding="utf-8"
    )
    run = opencode(project, "provider", "models")
    assert run.code == 1 and "cannot list models" in run.stderr + run.stdout


async def test_an_unlisted_model_is_refused_before_any_request(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    stream_server.add_get(MODELS)
    h = await harness(
        tmp_path,
        provider_toml("a", stream_server.url),
    )
    try:
        await h.hub.catalog.refresh(h.hub.settings.providers["a"])
        assert len(stream_server.gets) == 1
        (error,) = errors_of(await h.ask("a/gpt-4o-mnii"))
        assert "'gpt-4o-mnii' is not served" in error.message
        assert "did you mean 'gpt-4o-mini'" in error.message
        assert len(stream_server.gets) == 1 and stream_server.requests == []  # nothing sent
        (call,) = await h.calls()
        assert call["status"] == "skipped" and call["error_class"] == "unknown_model"
    finally:
        await h.aclose()


async def test_cost_is_computed_from_the_price_table(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    from tests.resilience.helpers import fixture

    stream_server.add(Reply(body=fixture("openai_usage_final_chunk.sse")))
    price = '[provider.a.price."m1"]\ninput = 0.15\noutput = 0.60\ncached = 0.075\n'
    h = await harness(tmp_path, provider_toml("a", stream_server.url) + price)
    try:
        assert text_of(await h.ask())
        (call,) = await h.calls()
        assert (call["tokens_in"], call["tokens_out"], call["tokens_cached"]) == (1200, 2, 1024)
        expected = (176 * 0.15 + 1024 * 0.075 + 2 * 0.60) / 1_000_000
        assert abs(call["cost"] - expected) < 1e-12
    finally:
        await h.aclose()


def test_log_since_rejects_a_bad_span_with_exit_2(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "opencode.toml").write_text('model = "local/smollm2"\n', encoding="utf-8")
    run = opencode(project, "provider", "log", "--since", "yesterday")
    assert run.code == 2 and "30m, 2h, 1d" in run.stderr + run.stdout
    empty = opencode(project, "provider", "log", "--since", "1h")
    assert empty.code == 0 and "No provider calls recorded in that span." in empty.stdout
