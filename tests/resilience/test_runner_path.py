"""The whole path the engine will take: today's Runner with the hub's provider factory, a real
store and bus, real adapters and loopback servers. Nothing in runner.py knows about the chain."""

from __future__ import annotations

from pathlib import Path

from opencode.sessions.events import EventBus, MessageStarted, SessionEvent
from opencode.sessions.providers.resilience.audit import call_session, session_cost
from opencode.sessions.providers.resilience.chain import Notice
from opencode.sessions.providers.resilience.hub import LimiterRegistry, ResilienceHub
from opencode.sessions.runner import PermissionAnswer, PermissionRequest, Runner
from opencode.sessions.store.db import Store
from opencode.sessions.store.writer import StoreWriter
from opencode.sessions.tools.permissions import Permissions
from tests.resilience.helpers import dead_url, make_config, provider_toml, text_reply
from tests.support.stream_server import StreamServer


async def test_runner_turn_answered_by_the_fallback_is_saved_and_attributed(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    stream_server.add(text_reply())
    config = make_config(
        tmp_path,
        provider_toml("a", dead_url(), 'fallback = ["b/m2"]')
        + provider_toml("b", stream_server.url),
    )
    store = await Store.open(config.db_path)
    notices: list[Notice] = []
    hub = ResilienceHub.from_config(config, store, observer=notices.append)
    hub.limiters = LimiterRegistry()
    bus = EventBus()
    bus.subscribe(StoreWriter(store))
    events: list[SessionEvent] = []
    bus.subscribe(events.append)

    async def asker(request: PermissionRequest) -> PermissionAnswer:
        return "deny"

    runner = Runner(
        store=store,
        config=config,
        cwd=tmp_path,
        bus=bus,
        permissions=Permissions(config.permission, tmp_path),
        asker=asker,
        provider_factory=hub.provider_factory,
    )
    try:
        session = await runner.start_session()
        with call_session(session.id):
            result = await runner.send(session.id, "hi")
        assert result.finish == "stop", result.error
        text = await store.fetchall(
            "SELECT p.content FROM part p JOIN message m ON m.id = p.message_id "
            "WHERE m.role = 'assistant' AND p.kind = 'text'"
        )
        assert "".join(r["content"] for r in text) == "Hello! How can I help you today?"
        calls = await store.fetchall(
            "SELECT provider, status, session_id FROM provider_call ORDER BY id"
        )
        assert [(c["provider"], c["status"], c["session_id"]) for c in calls] == [
            ("a", "error", session.id),
            ("b", "ok", session.id),
        ]
        (answered,) = [n for n in notices if n.kind == "answered"]
        assert (answered.ref, answered.requested, answered.session_id) == (
            "b/m2",
            "a/m1",
            session.id,
        )
        cost, sent = await session_cost(store, session.id)
        assert (cost, sent) == (None, 2)  # no price configured: unknown, not zero
        # today the runner labels the message with the requested model; the notice says who
        # answered (the engine is to persist it: see the resilience report)
        started = [e for e in events if isinstance(e, MessageStarted) and e.role == "assistant"]
        assert started[0].model == "a/m1"
    finally:
        await runner.aclose()
        await hub.aclose()
        await store.close()
