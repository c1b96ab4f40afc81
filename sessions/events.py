"""Typed events: what provider adapters yield, and what the runner emits to subscribers.

Provider events are wire-neutral: every adapter (OpenAI chat, Anthropic messages, Ollama,
the embedded local model) turns its bytes into these, so the runner never knows which one
produced a turn. Session events are what the store, the JSON printer and the TUI subscribe to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

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


ProviderEvent = (
    TextDelta
    | ReasoningDelta
    | ToolCallStart
    | ToolCallDelta
    | ToolCallEnd
    | Usage
    | Finish
    | ProviderError
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


@dataclass(slots=True)
class TurnFinished:
    """The whole run (all steps) is over. ``finish`` is stop/length/max_steps/error/interrupted."""

    session_id: str
    finish: str
    usage: Usage
    steps: int
    error: str | None = None


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
)

Subscriber = Callable[[SessionEvent], Awaitable[None] | None]


class EventBus:
    """Fans session events out to subscribers in registration order.

    Subscribers may be plain functions or coroutine functions; a coroutine is awaited before
    the next subscriber sees the event, so ordering holds for all of them.
    """

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    async def emit(self, event: SessionEvent) -> None:
        for subscriber in list(self._subscribers):
            result = subscriber(event)
            if result is not None:
                await result
