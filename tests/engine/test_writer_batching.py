"""The store writer keeps streamed text off the event loop's critical path: a text delta costs
no database operation (it is buffered), and the buffered text of a part goes to SQLite in one
statement, at the part's end or on the writer's timer, however many deltas there were."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.sessions.events import (
    EventBus,
    MessageStarted,
    PartDelta,
    PartFinished,
    PartStarted,
    SessionCreated,
)
from opencode.sessions.store.db import Store
from opencode.sessions.store.writer import StoreWriter


class Counted:
    """The store's write calls, counted (the real store does the work)."""

    def __init__(self, store: Store) -> None:
        self.calls: list[str] = []
        for name in ("execute", "executemany"):
            original = getattr(store, name)

            async def counted(*args: Any, _name: str = name, _original: Any = original) -> Any:
                self.calls.append(_name)
                return await _original(*args)

            setattr(store, name, counted)


async def test_ten_thousand_deltas_cost_one_write(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "w.db")
    try:
        bus = EventBus()
        bus.subscribe(StoreWriter(store, flush_interval=3600))  # only the part's end flushes
        await bus.emit(SessionCreated("ses_1", str(tmp_path), "mock/m"))
        await bus.emit(MessageStarted("ses_1", "msg_1", "assistant"))
        await bus.emit(PartStarted("ses_1", "msg_1", "prt_1", 0, "text"))
        counted = Counted(store)
        for n in range(10_000):
            await bus.emit(PartDelta("ses_1", "prt_1", "text", f"{n % 10}"))
        assert counted.calls == []  # no database round trip per delta
        await bus.emit(PartFinished("ses_1", "prt_1", "text"))
        assert counted.calls == ["executemany", "execute"]  # the text at once, then the status
        row = await store.fetchone("SELECT content, status FROM part WHERE id = 'prt_1'")
        assert row is not None
        assert row["content"] == "0123456789" * 1000
        assert row["status"] == "done"
    finally:
        await store.close()
