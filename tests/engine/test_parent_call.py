"""The store keeps which ``task`` call ran a subagent session (``session.parent_call_id``,
from ``SessionStarted``), so ``SessionRepo.children_of_call`` finds a child whose call never
stored a result. A real SQLite store and the real store writer."""

from __future__ import annotations

from pathlib import Path

from opencode.sessions.events import (
    EventBus,
    MessageStarted,
    PartStarted,
    SessionCreated,
    SessionStarted,
)
from opencode.sessions.store.db import Store
from opencode.sessions.store.sessions import SessionRepo
from opencode.sessions.store.writer import StoreWriter


async def _child(bus: EventBus, cwd: str, child: str, call_id: str | None) -> None:
    await bus.emit(SessionCreated(child, cwd, "mock/m", "dig", "ses_parent"))
    await bus.emit(
        SessionStarted(child, "dig", "mock/m", cwd, False, "ses_parent", parent_call_id=call_id)
    )
    await bus.emit(MessageStarted(child, f"msg_{child}", "user"))
    await bus.emit(PartStarted(child, f"msg_{child}", f"prt_{child}", 1, "text", "go"))


async def test_a_child_is_found_by_its_parent_and_call(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "s.db")
    try:
        bus = EventBus()
        bus.subscribe(StoreWriter(store))
        cwd = str(tmp_path)
        await bus.emit(SessionCreated("ses_parent", cwd, "mock/m"))
        await bus.emit(MessageStarted("ses_parent", "msg_p", "user"))
        await bus.emit(PartStarted("ses_parent", "msg_p", "prt_p", 1, "text", "split it"))
        await _child(bus, cwd, "ses_a", "call_a")
        await _child(bus, cwd, "ses_b", "call_b")
        await _child(bus, cwd, "ses_c", None)  # resumed on its own: no call

        repo = SessionRepo(store)
        assert [r.id for r in await repo.children_of_call("ses_parent", "call_a")] == ["ses_a"]
        assert [r.id for r in await repo.children_of_call("ses_parent", "call_b")] == ["ses_b"]
        assert await repo.children_of_call("ses_parent", "call_x") == []
        assert await repo.children_of_call("ses_other", "call_a") == []
        row = await store.fetchone("SELECT parent_call_id FROM session WHERE id = 'ses_c'")
        assert row is not None and row["parent_call_id"] is None
    finally:
        await store.close()
