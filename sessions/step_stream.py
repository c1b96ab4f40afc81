"""One model call turned into session events: the ``Step`` it fills and the stream reader.

``stream_step`` reads a provider stream (after corrections) and emits the parts it holds
(text and reasoning, split every ``PART_SEGMENT_CHARS`` so no row grows unbounded), while
``Step`` collects what the loop needs afterwards: the text for history, the tool calls, usage,
finish reason, an error, and which model answered at what cost. The ends of a step that went
wrong (a provider error, a bug) are emitted here too, so the runner's loop only decides.
"""

from __future__ import annotations

import io
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass, field

from opencode.sessions.events import (
    Answered,
    ErrorOccurred,
    EventBus,
    Finish,
    MessageFinished,
    PartDelta,
    PartFinished,
    PartKind,
    PartStarted,
    ProviderError,
    ProviderEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallEnd,
    Usage,
)
from opencode.sessions.ids import new_id

# A text part is split once it holds this much, so no single row update grows unbounded.
PART_SEGMENT_CHARS = 1 << 20
INTERNAL_HINT = "this is a bug or a broken store; the session is saved, resume it with -c"


@dataclass(slots=True)
class Step:
    """What one streamed assistant message produced."""

    message_id: str
    text: io.StringIO = field(default_factory=io.StringIO)
    calls: list[ToolCallEnd] = field(default_factory=list)
    usage: Usage | None = None
    finish: str = "stop"
    error: ProviderError | None = None
    seq: int = 0
    # From the resilience chain (``Answered``): the model that answered when it is not the
    # one asked for, and the call's cost (None: no price known, or no chain).
    model: str | None = None
    cost: float | None = None

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def finished(self, session_id: str, finish: str) -> MessageFinished:
        return MessageFinished(
            session_id, self.message_id, finish, self.usage, self.cost, self.model
        )


async def stream_step(
    bus: EventBus, session_id: str, step: Step, events: AsyncGenerator[ProviderEvent, None]
) -> None:
    """Emit the parts of ``events`` under ``step``'s message and fill ``step``."""
    open_part: tuple[str, PartKind, int] | None = None  # (part id, kind, chars so far)

    async def close_part() -> None:
        nonlocal open_part
        if open_part is not None:
            await bus.emit(PartFinished(session_id, open_part[0], open_part[1]))
            open_part = None

    async with aclosing(events) as stream:
        async for event in stream:
            if isinstance(event, TextDelta | ReasoningDelta):
                if not event.text:
                    continue
                kind: PartKind = "text" if isinstance(event, TextDelta) else "reasoning"
                if open_part is not None and (
                    open_part[1] != kind or open_part[2] >= PART_SEGMENT_CHARS
                ):
                    await close_part()
                if open_part is None:
                    part_id = new_id("prt")
                    await bus.emit(
                        PartStarted(session_id, step.message_id, part_id, step.next_seq(), kind)
                    )
                    open_part = (part_id, kind, 0)
                await bus.emit(PartDelta(session_id, open_part[0], kind, event.text))
                open_part = (open_part[0], kind, open_part[2] + len(event.text))
                if kind == "text":
                    step.text.write(event.text)
            elif isinstance(event, ToolCallEnd):
                await close_part()
                step.calls.append(event)
            elif isinstance(event, Usage):
                step.usage = event
            elif isinstance(event, Finish):
                step.finish = event.reason
            elif isinstance(event, Answered):
                step.cost = event.cost
                if event.requested is not None and event.model != event.requested:
                    step.model = event.model  # a fallback answered
            elif isinstance(event, ProviderError):
                step.error = event
                break
    await close_part()
    if step.calls and step.error is None:
        step.finish = "tool_calls"


async def emit_step_error(bus: EventBus, session_id: str, step: Step, error: ProviderError) -> None:
    """The error as the step's last part (the step's message still needs finishing)."""
    await bus.emit(
        ErrorOccurred(
            session_id, step.message_id, new_id("prt"), step.next_seq(), error.message, error.hint
        )
    )


async def record_internal_error(
    bus: EventBus, session_id: str, step: Step | None, exc: Exception
) -> str:
    """A bug or an unusable store, recorded where the user will see it: as the open step's
    error (its message finished as ``error``), or as a bare error line. Returns the line."""
    error_text = f"internal error: {type(exc).__name__}: {exc}"
    if step is not None:
        await emit_step_error(bus, session_id, step, ProviderError(error_text, hint=INTERNAL_HINT))
        await bus.emit(step.finished(session_id, "error"))
    else:
        await bus.emit(ErrorOccurred(session_id, None, new_id("prt"), 0, error_text, INTERNAL_HINT))
    return error_text


def add_usage(total: Usage, usage: Usage | None) -> Usage:
    if usage is None:
        return total
    return Usage(
        total.input_tokens + usage.input_tokens,
        total.output_tokens + usage.output_tokens,
        total.cache_read_tokens + usage.cache_read_tokens,
        total.cache_write_tokens + usage.cache_write_tokens,
    )


def error_line(error: ProviderError) -> str:
    return f"{error.message} (hint: {error.hint})" if error.hint else error.message
