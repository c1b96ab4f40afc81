"""EventBus: order kept, deltas queued behind a busy subscriber merged per part, never across."""

from __future__ import annotations

import asyncio

from opencode.sessions.events import (
    EventBus,
    PartDelta,
    PartFinished,
    SessionEvent,
)


def delta(part: str, text: str, kind: str = "text") -> PartDelta:
    return PartDelta("ses_1", part, kind, text)  # type: ignore[arg-type]


async def test_serial_emits_reach_every_subscriber_unchanged_and_in_order() -> None:
    bus = EventBus()
    first: list[SessionEvent] = []
    second: list[SessionEvent] = []
    bus.subscribe(first.append)

    async def slow(event: SessionEvent) -> None:
        await asyncio.sleep(0)
        second.append(event)

    bus.subscribe(slow)
    events: list[SessionEvent] = [
        delta("p1", "a"),
        delta("p1", "b"),
        PartFinished("ses_1", "p1", "text"),
    ]
    for event in events:
        await bus.emit(event)
    assert first == events and second == events  # nothing waited, so nothing merged


async def test_deltas_queued_behind_a_busy_subscriber_merge_per_part_in_order() -> None:
    bus = EventBus()
    seen: list[SessionEvent] = []
    release = asyncio.Event()

    async def busy(event: SessionEvent) -> None:
        if not seen:
            await release.wait()  # the first event holds the subscriber up
        seen.append(event)

    bus.subscribe(busy)
    first = asyncio.create_task(bus.emit(delta("p1", "first ")))
    await asyncio.sleep(0)  # the first delivery is now under way and blocked

    # Other tasks emit while it is blocked: each emit queues, in the order the tasks run.
    queued = [asyncio.create_task(bus.emit(delta("p1", f"{i},"))) for i in range(100)]
    queued.append(asyncio.create_task(bus.emit(PartFinished("ses_1", "p1", "text"))))
    queued.append(asyncio.create_task(bus.emit(delta("p2", "think", "reasoning"))))
    queued.append(asyncio.create_task(bus.emit(delta("p2", "ing", "reasoning"))))
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, *queued)
    text_p1 = "first " + "".join(f"{i}," for i in range(100))
    assert (
        "".join(e.text for e in seen if isinstance(e, PartDelta) and e.part_id == "p1") == text_p1
    )
    # the part boundary and the kind change were kept, in order
    kinds = [(type(e).__name__, getattr(e, "part_id", "")) for e in seen]
    finished_at = kinds.index(("PartFinished", "p1"))
    assert all(k == ("PartDelta", "p1") for k in kinds[:finished_at])
    assert kinds[finished_at + 1 :] == [("PartDelta", "p2")]
    assert seen[-1] == delta("p2", "thinking", "reasoning")
    assert len(seen) == 4  # 104 emits: the first, p1 merged, the boundary, p2 merged


async def test_emit_returns_after_its_event_was_delivered() -> None:
    bus = EventBus()
    seen: list[SessionEvent] = []
    gate = asyncio.Event()

    async def busy(event: SessionEvent) -> None:
        if not seen:
            await gate.wait()
        seen.append(event)

    bus.subscribe(busy)
    holder = asyncio.create_task(bus.emit(delta("p1", "a")))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(bus.emit(delta("p1", "b")))
    await asyncio.sleep(0.01)
    assert not waiter.done()  # queued behind the busy subscriber, not dropped
    gate.set()
    await waiter
    assert "".join(e.text for e in seen if isinstance(e, PartDelta)) == "ab"
    await holder


async def test_a_subscriber_that_emits_is_served_after_the_event_in_hand() -> None:
    bus = EventBus()
    order: list[str] = []

    async def echo(event: SessionEvent) -> None:
        order.append(f"echo:{type(event).__name__}")
        if isinstance(event, PartDelta):
            await bus.emit(PartFinished("ses_1", event.part_id, "text"))

    bus.subscribe(echo)
    bus.subscribe(lambda event: order.append(f"log:{type(event).__name__}"))  # type: ignore[func-returns-value]
    await asyncio.wait_for(bus.emit(delta("p1", "x")), 5)
    assert order == ["echo:PartDelta", "log:PartDelta", "echo:PartFinished", "log:PartFinished"]
