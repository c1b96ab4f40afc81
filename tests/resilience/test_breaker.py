"""The circuit breaker: opens after the threshold, is shared through SQLite with another
process, lets one half-open probe through, and closes when the probe succeeds."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from opencode.sessions.providers.resilience.breaker import Breaker
from opencode.sessions.store.db import Store
from tests.resilience.helpers import (
    errors_of,
    harness,
    json_error,
    provider_toml,
    text_of,
    text_reply,
)
from tests.support.stream_server import StreamServer

SECOND_PROCESS = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from opencode.sessions.config import load_config
    from opencode.sessions.events import ProviderError
    from opencode.sessions.providers.base import ChatMessage, ChatRequest
    from opencode.sessions.providers.resilience.hub import ResilienceHub
    from opencode.sessions.store.db import Store

    async def main() -> None:
        config = load_config(Path(sys.argv[1]))
        store = await Store.open(Path(sys.argv[2]))
        hub = ResilienceHub.from_config(config, store)
        provider = hub.build_provider("a/m1")
        request = ChatRequest(model="m1", messages=[ChatMessage(role="user", content="hi")])
        events = [e async for e in provider.stream(request)]
        errors = [e.message for e in events if isinstance(e, ProviderError)]
        await hub.aclose()
        await store.close()
        print(json.dumps({"errors": errors}))

    asyncio.run(main())
    """
)


async def test_breaker_opens_is_seen_by_another_process_and_a_probe_closes_it(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    # three failures, then (the fourth request reaching it: the probe) a recovered server
    stream_server.add(*[json_error(500, "down")] * 3, text_reply())
    text = provider_toml("a", stream_server.url, "failure_threshold = 3\ncooldown_s = 30").replace(
        "max_retries = 2", "max_retries = 0"
    )
    h = await harness(tmp_path, text)
    try:
        for _ in range(3):
            assert errors_of(await h.ask())
        assert len(stream_server.requests) == 3
        # the fourth call is refused without touching the network
        (error,) = errors_of(await h.ask())
        assert "circuit breaker open" in error.message and "down" in error.message
        assert len(stream_server.requests) == 3
        calls = await h.calls()
        assert [c["breaker_state"] for c in calls] == ["closed"] * 3 + ["open"]
        assert calls[-1]["status"] == "skipped" and calls[-1]["error_class"] == "breaker_open"

        # a second process on the same database sees it open and does not call the server
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            SECOND_PROCESS,
            str(tmp_path / "project"),
            str(h.store.path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(os.environ),
        )
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, stderr.decode()
        (message,) = json.loads(stdout)["errors"]
        assert "circuit breaker open" in message
        assert len(stream_server.requests) == 3
    finally:
        await h.aclose()

    # after the cooldown: one probe goes out; the server has recovered, so it closes
    later = await harness(
        tmp_path, text, clock=lambda: time.time() + 31, store=await Store.open(h.store.path)
    )
    try:
        events = await later.ask()
        assert text_of(events) == "Hello! How can I help you today?"
        calls = await later.calls()
        assert calls[-1]["status"] == "ok" and calls[-1]["breaker_state"] == "half-open"
        assert len(stream_server.requests) == 4  # exactly one probe
        row = await later.store.fetchone("SELECT state, failures FROM provider_breaker")
        assert row is not None and (row["state"], row["failures"]) == ("closed", 0)
    finally:
        await later.aclose()


async def test_half_open_hands_out_one_probe_and_a_failed_probe_reopens(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "db.sqlite")
    now = [1000.0]
    breaker = Breaker(
        store, "p", "http://x/v1", failure_threshold=2, cooldown_s=10, clock=lambda: now[0]
    )
    try:
        assert (await breaker.before_call()).allowed
        assert await breaker.record_failure("boom 1") == "closed"
        assert await breaker.record_failure("boom 2") == "open"
        refused = await breaker.before_call()
        assert not refused.allowed and refused.state == "open"
        assert refused.retry_in == 10 and refused.last_error == "boom 2"
        now[0] += 10
        decisions = await asyncio.gather(*(breaker.before_call() for _ in range(5)))
        assert sum(d.allowed for d in decisions) == 1
        assert [d.probe for d in decisions if d.allowed] == [True]
        assert await breaker.record_failure("still down") == "open"
        assert not (await breaker.before_call()).allowed  # a fresh cooldown
        now[0] += 10
        assert (await breaker.before_call()).probe
        await breaker.record_success()
        assert await breaker.state() == "closed"
        assert (await breaker.before_call()).allowed
    finally:
        await store.close()


async def test_a_success_resets_the_count_of_consecutive_failures(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "db.sqlite")
    breaker = Breaker(store, "p", "http://x/v1", failure_threshold=2)
    try:
        await breaker.record_failure("one")
        await breaker.record_success()
        assert await breaker.record_failure("two") == "closed"
    finally:
        await store.close()


async def test_auth_errors_do_not_open_the_breaker(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    stream_server.add(json_error(401, "bad key"))
    text = provider_toml("a", stream_server.url, "failure_threshold = 1")
    h = await harness(tmp_path, text)
    try:
        for _ in range(3):
            assert errors_of(await h.ask())
        assert len(stream_server.requests) == 3
        assert {c["breaker_state"] for c in await h.calls()} == {"closed"}
    finally:
        await h.aclose()


async def test_a_remembered_closed_state_expires_and_own_failures_drop_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencode.sessions.providers.resilience import breaker as breaker_module

    store = await Store.open(tmp_path / "db.sqlite")
    here = Breaker(store, "p", "http://x/v1", failure_threshold=1)
    there = Breaker(store, "p", "http://x/v1", failure_threshold=1)  # as another process
    try:
        assert (await here.before_call()).allowed  # remembered: closed
        await there.record_failure("down")
        assert (await here.before_call()).allowed  # within CLOSED_CACHE_S: not re-read
        monkeypatch.setattr(breaker_module, "CLOSED_CACHE_S", 0.0)
        assert not (await here.before_call()).allowed  # expired: sees the other's open
        monkeypatch.setattr(breaker_module, "CLOSED_CACHE_S", 3600.0)
        fresh = Breaker(store, "q", "http://y/v1", failure_threshold=1)
        assert (await fresh.before_call()).allowed
        await fresh.record_failure("boom")
        assert not (await fresh.before_call()).allowed  # its own failure is never cached over
    finally:
        await store.close()
