"""Typed events: what provider adapters yield, and what the runner emits to subscribers.

Provider events are wire-neutral: every adapter (OpenAI chat, Anthropic messages, Ollama,
the embedded local model) turns its bytes into these, so the runner never knows which one
produced a turn. Session events are what the store, the JSON printer and the TUI subscribe to.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from opencode.sessions.todos import Todo

# --------------------------------------------------------------------------- provider events


@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ReasoningDelta:
    text: str


@dataclass(slots=True)
class ToolCallStart:
    """A tool call begins. ``index`` identifies it among this turn's calls."""

    index: int
    id: str
    name: str


@dataclass(slots=True)
class ToolCallDelta:
    """A fragment of the call's JSON arguments (concatenate them in order)."""

    index: int
    arguments: str


@dataclass(slots=True)
class ToolCallEnd:
    """The call at ``index`` is complete; ``arguments`` is the whole JSON text."""

    index: int
    id: str
    name: str
    arguments: str


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


FinishReason = Literal["stop", "tool_calls", "length", "content_filter", "error", "other"]


@dataclass(slots=True)
class Finish:
    reason: FinishReason
    raw_reason: str | None = None


@dataclass(slots=True)
class ProviderError:
    """A failure of the provider call, already phrased for a user.

    ``message`` says what went wrong (status, the provider's own error text, the URL);
    ``hint`` says what to do. ``retryable`` is true for 429/5xx/connect errors.
    """

    message: str
    status: int | None = None
    retryable: bool = False
    hint: str | None = None
    url: str | None = None
    # What kind of failure, for code that must tell them apart without reading the message:
    # "truncated" (the stream ended before the model finished), "max_line_bytes",
    # "idle_timeout", "stream_timeout"; None for everything else.
    code: str | None = None
    # How long the server asked us to wait before trying again, in seconds: ``Retry-After``
    # (seconds or an HTTP date) or a provider's rate-limit reset header; None when it said not.
    retry_after: float | None = None


@dataclass(slots=True)
class Answered:
    """The resilience chain's last word on one model call that answered: which model did
    (``PROVIDER/MODEL``, a fallback's when the requested one failed), the one asked for, and
    what the call cost (None when that model has no configured price)."""

    model: str
    requested: str | None = None
    cost: float | None = None


ProviderEvent = (
    TextDelta
    | ReasoningDelta
    | ToolCallStart
    | ToolCallDelta
    | ToolCallEnd
    | Usage
    | Finish
    | ProviderError
    | Answered
)

# --------------------------------------------------------------------------- session events

PartKind = Literal["text", "reasoning", "tool_call", "tool_result", "error"]


@dataclass(slots=True)
class SessionStarted:
    session_id: str
    title: str
    model: str
    cwd: str
    resumed: bool
    # A subagent's session: its parent session, and the parent's ``task`` call that runs it
    # (None when resumed on its own). Subscribers nest a child's events under that call.
    parent_id: str | None = None
    parent_call_id: str | None = None


@dataclass(slots=True)
class MessageStarted:
    session_id: str
    message_id: str
    role: Literal["user", "assistant"]
    model: str | None = None


@dataclass(slots=True)
class PartStarted:
    session_id: str
    message_id: str
    part_id: str
    seq: int
    kind: PartKind
    content: str = ""
    tool_name: str | None = None
    tool_call_id: str | None = None


@dataclass(slots=True)
class PartDelta:
    """Streamed text appended to a text or reasoning part."""

    session_id: str
    part_id: str
    kind: PartKind
    text: str


@dataclass(slots=True)
class PartFinished:
    session_id: str
    part_id: str
    kind: PartKind


@dataclass(slots=True)
class ToolStarted:
    session_id: str
    message_id: str
    part_id: str
    seq: int
    call_id: str
    tool: str
    arguments: dict[str, Any]
    raw_arguments: str


@dataclass(slots=True)
class PermissionAsked:
    session_id: str
    call_id: str
    tool: str
    subject: str
    decision: Literal["allow", "deny"]
    reason: str


@dataclass(slots=True)
class ToolFinished:
    session_id: str
    message_id: str
    part_id: str
    result_part_id: str
    seq: int
    call_id: str
    tool: str
    status: Literal["completed", "error", "denied"]
    output: str
    duration_ms: int
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ErrorOccurred:
    session_id: str
    message_id: str | None
    part_id: str
    seq: int
    message: str
    hint: str | None = None


@dataclass(slots=True)
class MessageFinished:
    session_id: str
    message_id: str
    finish: str
    usage: Usage | None = None
    # What answering cost (None: unknown, no price or no resilience chain) and the model that
    # answered when it is not the one the message started with (a fallback); None: unchanged.
    cost: float | None = None
    model: str | None = None


@dataclass(slots=True)
class TurnFinished:
    """The whole run (all steps) is over. ``finish`` is stop/length/max_steps/error/interrupted."""

    session_id: str
    finish: str
    usage: Usage
    steps: int
    error: str | None = None
    # The turn's cost over its steps (None when no step had a price), and the model that
    # answered its last step (None: no resilience chain reported one).
    cost: float | None = None
    model: str | None = None


@dataclass(slots=True)
class SessionCreated:
    """A new session. The store writes its row together with its first message's first part,
    in one transaction, so a process killed before that leaves no empty session behind."""

    session_id: str
    cwd: str
    model: str
    title: str = ""
    parent_id: str | None = None


@dataclass(slots=True)
class SessionTitled:
    """The session's title was set (from the first message, or ``--title`` on resume)."""

    session_id: str
    title: str


@dataclass(slots=True)
class UnfinishedInterrupted:
    """On resume: messages and parts a killed process left open are closed as interrupted."""

    session_id: str


@dataclass(slots=True)
class PermissionAnswered:
    """The user (or the headless asker policy) answered a permission question; an
    ``allow_session`` answer is restored as a grant when the session is resumed."""

    session_id: str
    call_id: str
    tool: str
    subject: str
    answer: Literal["allow_once", "allow_session", "deny"]


@dataclass(slots=True)
class MessagesRewound:
    """Conversation rewind: these messages leave history and transcripts. Their rows stay
    (marked ``rewound_at``), so nothing is lost and ``session show --all`` still shows them."""

    session_id: str
    message_ids: list[str]


@dataclass(slots=True)
class SessionForked:
    """A new session ``session_id`` whose history is a copy of ``source_id``'s messages
    before ``until_message_id`` (all of them when None), rewound ones left out."""

    session_id: str
    source_id: str
    until_message_id: str | None
    title: str
    cwd: str
    model: str


@dataclass(slots=True)
class TodosUpdated:
    """The session's todo list was replaced (``todowrite``); ``todos`` is the whole new list.
    The store keeps the latest list per session; the TUI's todo panel shows it."""

    session_id: str
    call_id: str
    todos: list[Todo]


@dataclass(slots=True)
class ToolOutputDelta:
    """Output a running tool (bash) printed since the previous delta of ``call_id``, for live
    display only: the store keeps the final output of ``ToolFinished``, not these. Merged and
    throttled at the source (``sessions/tool_output.py``); ``dropped`` counts bytes printed
    since the previous delta that are not in ``text`` (a flood keeps only its tail)."""

    session_id: str
    call_id: str
    text: str
    dropped: int = 0


SessionEvent = (
    SessionStarted
    | MessageStarted
    | PartStarted
    | PartDelta
    | PartFinished
    | ToolStarted
    | PermissionAsked
    | ToolFinished
    | ErrorOccurred
    | MessageFinished
    | TurnFinished
    | SessionCreated
    | SessionTitled
    | UnfinishedInterrupted
    | PermissionAnswered
    | MessagesRewound
    | SessionForked
    | TodosUpdated
    | ToolOutputDelta
)

Subscriber = Callable[[SessionEvent], Awaitable[None] | None]


class EventBus:
    """Fans session events out to subscribers in registration order.

    Subscribers may be plain functions or coroutine functions; a coroutine is awaited before
    the next subscriber sees the event, so ordering holds for all of them.

    Events emitted while a delivery is under way (another task emitting while a subscriber
    awaits, or a subscriber emitting) queue behind it, in order; consecutive ``PartDelta``s of
    one part that wait in that queue are delivered as one, so a slow subscriber costs a few
    text events per part, never one per token. Nothing is merged across a different part, a
    different kind, or any other event in between, and ``emit`` returns once its event (or the
    delta it was merged into) has reached every subscriber.
    """

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._queue: deque[SessionEvent | _Merged] = deque()
        self._delivering: asyncio.Task[Any] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    async def emit(self, event: SessionEvent) -> None:
        current = asyncio.current_task()
        if self._delivering is None and not self._queue:  # the usual case: nothing waits
            self._delivering = current
            self._idle.clear()
            try:
                await self._fan_out(event)
                await self._drain()
            finally:
                self._delivering = None
                self._idle.set()
            return
        self._enqueue(event)
        if self._delivering is current:
            return  # a subscriber emitting: delivered after the event in hand, in order
        while self._delivering is not None:  # another task delivers: wait for it
            await self._idle.wait()
        if not self._queue:
            return  # that task delivered ours too
        self._delivering = current
        self._idle.clear()
        try:
            await self._drain()
        finally:
            self._delivering = None
            self._idle.set()

    def _enqueue(self, event: SessionEvent) -> None:
        queue = self._queue
        tail = queue[-1] if queue else None
        if type(event) is not PartDelta:
            queue.append(event)
        elif (
            isinstance(tail, _Merged)
            and tail.part_id == event.part_id
            and tail.kind == event.kind
            and tail.session_id == event.session_id
        ):
            tail.texts.append(event.text)
        else:
            queue.append(_Merged(event.session_id, event.part_id, event.kind, [event.text]))

    async def _drain(self) -> None:
        queue = self._queue
        while queue:
            item = queue.popleft()
            if isinstance(item, _Merged):
                text = "".join(item.texts)
                await self._fan_out(PartDelta(item.session_id, item.part_id, item.kind, text))
            else:
                await self._fan_out(item)

    async def _fan_out(self, event: SessionEvent) -> None:
        for subscriber in list(self._subscribers):
            result = subscriber(event)
            if result is not None:
                await result


@dataclass(slots=True)
class _Merged:
    """Queued ``PartDelta`` text of one part, joined once when it is delivered."""

    session_id: str
    part_id: str
    kind: PartKind
    texts: list[str]
