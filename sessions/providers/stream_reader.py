"""Reading a streamed reply body: bounded lines, deadlines, and batches of what is buffered.

Owns the one loop that pulls bytes off an HTTP response for the SSE and NDJSON adapters:

- lines are cut from the bytes as they arrive (never ``response.text`` then split) and a line
  longer than ``max_line_bytes`` stops the stream with a protocol error, so a server that never
  sends a newline costs at most that bound plus one network chunk of memory;
- a reader task pulls chunks while the consumer works, so the consumer gets the lines already
  received in batches of up to ``BATCH_LINES`` (the adapters coalesce a batch's deltas into
  one event each: a server sending 100k tiny events a second costs the runner and its
  subscribers a few events per batch);
- two deadlines beside httpx's read timeout: ``stream_timeout`` for the whole reply and
  ``idle_timeout`` for a stretch with no content, which keep-alive comments and pings do not
  reset (the adapter says what counts as content by calling ``touch``).

``[provider.NAME]`` options: ``max_line_bytes`` (default 8 MiB), ``idle_timeout`` (seconds,
default 300), ``stream_timeout`` (seconds, default 1800), ``coalesce`` (default true; false
yields one event per wire event, for debugging a server).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from opencode.sessions.events import (
    ProviderError,
    ProviderEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
)
from opencode.sessions.providers.base import ProviderConfig
from opencode.sessions.providers.raw_body import body_pieces

DEFAULT_MAX_LINE_BYTES = 8 * 1024 * 1024
DEFAULT_IDLE_TIMEOUT = 300.0
DEFAULT_STREAM_TIMEOUT = 1800.0
# Lines the reader task may hold before it waits for the consumer: bounds memory when the
# consumer is slower than the network.
QUEUE_BYTES = 4 * 1024 * 1024
# Lines handed to the consumer at once: parsing them takes a few ms, so a consumer that
# yields its events per batch lets the TUI's pacer give input a turn between batches (all
# that is buffered in one go was 100+ ms of JSON on the loop in an unthrottled 1 MB reply).
BATCH_LINES = 1024
# A coalesced delta stops growing here, so a part's 1 MiB segments stay close to that size.
COALESCE_CHARS = 64 * 1024


@dataclass(frozen=True, slots=True)
class StreamLimits:
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    stream_timeout: float = DEFAULT_STREAM_TIMEOUT
    coalesce: bool = True
    read_timeout: float = 120.0  # no bytes at all, keep-alives included ([provider] timeout)
    bulk_reads: bool = True  # read the socket in bulk (raw_body) where the response allows


def stream_limits(config: ProviderConfig) -> StreamLimits:
    """The limits from ``[provider.NAME]`` options; ``ValueError`` names a bad key."""
    options = config.options

    def number(key: str, default: float, integer: bool = False) -> Any:
        value = options.get(key, default)
        kind = "a positive integer (bytes)" if integer else "a positive number of seconds"
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok or value <= 0:
            raise ValueError(f"[provider.{config.name}] {key} must be {kind}, not {value!r}")
        return value

    coalesce = options.get("coalesce", True)
    if not isinstance(coalesce, bool):
        raise ValueError(f"[provider.{config.name}] coalesce must be true or false")
    return StreamLimits(
        max_line_bytes=number("max_line_bytes", DEFAULT_MAX_LINE_BYTES, integer=True),
        idle_timeout=float(number("idle_timeout", DEFAULT_IDLE_TIMEOUT)),
        stream_timeout=float(number("stream_timeout", DEFAULT_STREAM_TIMEOUT)),
        coalesce=coalesce,
        read_timeout=config.timeout,
    )


class StreamFault(Exception):
    """The body broke a limit; ``error`` is the phrased ``ProviderError`` to yield."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(error.message)
        self.error = error


class LineReader:
    """Cuts ``response``'s body into lines (``\\n``-terminated, a trailing ``\\r`` dropped).

    ``batches()`` yields lists of lines; ``received`` counts body bytes; ``ended_clean`` says
    whether the body ended on a newline (a last line without one is still yielded).
    """

    def __init__(
        self,
        response: httpx.Response,
        limits: StreamLimits,
        fault: Any,
    ) -> None:
        self.response = response
        self.limits = limits
        self._fault_for = fault  # (problem text) -> ProviderError, phrased by the adapter
        self.received = 0
        self.ended_clean = True
        self._lines: list[bytes] = []
        self._queued = 0
        self._done = False
        self._error: BaseException | None = None
        self._wakeup = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._waiting_room = False
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()
        self._last_content = self._started
        self._watchdog: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None

    def touch(self) -> None:
        """Content arrived (not a keep-alive): the idle deadline starts again."""
        self._last_content = self._loop.time()

    # ------------------------------------------------------------------ consumer side

    async def batches(self) -> AsyncIterator[list[bytes]]:
        self._task = asyncio.create_task(self._read(), name="provider-body-reader")
        self._arm()
        try:
            while True:
                if not self._lines:
                    if self._done:
                        break
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                if len(self._lines) > BATCH_LINES:
                    lines = self._lines[:BATCH_LINES]
                    del self._lines[:BATCH_LINES]
                    self._queued = max(0, self._queued - sum(map(len, lines)) - len(lines))
                else:
                    lines, self._lines, self._queued = self._lines, [], 0
                if self._queued <= QUEUE_BYTES:
                    self._room.set()
                yield lines
            if self._error is not None:
                raise self._error
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()
            task = self._task
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # ------------------------------------------------------------------ reader task

    async def _read(self) -> None:
        limit = self.limits.max_line_bytes
        partial: list[bytes] = []
        partial_len = 0
        try:
            if self.limits.bulk_reads:
                source = body_pieces(self.response, self.limits.read_timeout)
            else:
                source = self.response.aiter_bytes()
            async for chunk in source:
                self.received += len(chunk)
                if b"\n" not in chunk:
                    partial.append(chunk)
                    partial_len += len(chunk)
                    if partial_len > limit:
                        raise StreamFault(self._too_long(partial_len))
                    continue
                pieces = chunk.split(b"\n")
                if partial:
                    partial.append(pieces[0])
                    pieces[0] = b"".join(partial)
                    partial.clear()
                last = pieces.pop()
                partial_len = len(last)
                if last:
                    partial.append(last)
                if len(pieces[0]) > limit or (len(chunk) > limit and max(map(len, pieces)) > limit):
                    raise StreamFault(self._too_long(max(map(len, pieces))))
                if b"\r" in chunk or pieces[0].endswith(b"\r"):  # CRLF, maybe split
                    pieces = [p[:-1] if p.endswith(b"\r") else p for p in pieces]
                self._lines.extend(pieces)
                self._queued += len(chunk)
                self._wakeup.set()
                if self._queued > QUEUE_BYTES:
                    self._room.clear()
                    self._waiting_room = True
                    await self._room.wait()
                    self._waiting_room = False
            if partial:
                tail = b"".join(partial)
                self.ended_clean = False
                self._lines.append(tail[:-1] if tail.endswith(b"\r") else tail)
        except asyncio.CancelledError:
            if self._error is None:
                raise
        except BaseException as exc:  # handed to the consumer, which phrases it
            self._error = exc
        finally:
            partial.clear()
            self._done = True
            self._wakeup.set()

    def _too_long(self, size: int) -> ProviderError:
        error: ProviderError = self._fault_for(
            f"a line longer than {self.limits.max_line_bytes} bytes (max_line_bytes; "
            f"{size} bytes so far without a newline)",
            "max_line_bytes",
        )
        return error

    # ------------------------------------------------------------------ deadlines

    def _arm(self) -> None:
        limits = self.limits
        due = min(self._started + limits.stream_timeout, self._last_content + limits.idle_timeout)
        self._watchdog = self._loop.call_at(due, self._check)

    def _check(self) -> None:
        now = self._loop.time()
        limits = self.limits
        task = self._task
        if task is None or task.done():
            return
        if now >= self._started + limits.stream_timeout:
            self._expire(
                f"no end of the reply after {limits.stream_timeout:g} s (stream_timeout)",
                "stream_timeout",
            )
            return
        if self._waiting_room:  # the consumer is busy, not the server idle
            self._last_content = now
        elif now >= self._last_content + limits.idle_timeout:
            self._expire(
                f"no content for {limits.idle_timeout:g} s, keep-alives aside (idle_timeout)",
                "idle_timeout",
            )
            return
        self._arm()

    def _expire(self, problem: str, key: str) -> None:
        self._error = StreamFault(self._fault_for(problem, key))
        assert self._task is not None
        self._task.cancel()


def coalesce(events: list[ProviderEvent]) -> list[ProviderEvent]:
    """Merge neighbouring text, reasoning and same-call argument deltas, keeping the order of
    everything else: the concatenated text and every boundary between kinds stay the same."""
    if len(events) < 2:
        return events
    out: list[ProviderEvent] = []
    texts: list[str] = []
    size = 0
    head: ProviderEvent | None = None

    def flush() -> None:
        nonlocal head, size
        if head is None:
            return
        if len(texts) == 1:
            out.append(head)
        elif isinstance(head, ToolCallDelta):
            out.append(ToolCallDelta(head.index, "".join(texts)))
        elif isinstance(head, TextDelta):
            out.append(TextDelta("".join(texts)))
        else:
            out.append(ReasoningDelta("".join(texts)))
        head = None
        texts.clear()
        size = 0

    for event in events:
        kind = type(event)
        if kind is TextDelta or kind is ReasoningDelta or kind is ToolCallDelta:
            text = event.arguments if kind is ToolCallDelta else event.text  # type: ignore[union-attr]
            if (
                head is not None
                and type(head) is kind
                and size < COALESCE_CHARS
                and (kind is not ToolCallDelta or head.index == event.index)  # type: ignore[union-attr]
            ):
                texts.append(text)
                size += len(text)
                continue
            flush()
            head = event
            texts.append(text)
            size = len(text)
            continue
        flush()
        out.append(event)
    flush()
    return out
