"""Live output of a running tool call: bytes from the command -> throttled ``ToolOutputDelta``.

The bash tool hands every chunk it reads to ``OutputRelay.feed`` (synchronous, never blocks);
the relay decodes it, keeps at most ``MAX_PENDING_CHARS`` of not-yet-shown text (a flood keeps
its tail and counts what it dropped) and emits what it holds at most once per ``INTERVAL_S``,
from one task of its own. A command printing 200,000 lines costs subscribers a few events per
second, and the relay's memory stays flat whatever the command prints.

Only whole lines are emitted, or a line up to a ``\r`` (a progress bar redrawing itself); the
last partial line waits for its newline, or for the ``MAX_PENDING_CHARS`` cut, so secrets are
scrubbed on whole lines and never reach the screen split across two deltas. Nothing here is
stored: the call's final output is, by ``ToolFinished``.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
from collections.abc import Awaitable, Callable

from opencode.sessions.events import SessionEvent, ToolOutputDelta
from opencode.sessions.secrets import scrub

logger = logging.getLogger(__name__)

INTERVAL_S = 0.05
MAX_PENDING_CHARS = 8 * 1024


class OutputRelay:
    def __init__(
        self,
        emit: Callable[[SessionEvent], Awaitable[None]],
        session_id: str,
        call_id: str,
        secrets: tuple[str, ...] = (),
        *,
        interval_s: float = INTERVAL_S,
        max_pending: int = MAX_PENDING_CHARS,
    ) -> None:
        self._emit = emit
        self.session_id = session_id
        self.call_id = call_id
        self.secrets = secrets
        self.interval_s = interval_s
        self.max_pending = max_pending
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending: list[str] = []
        self._pending_chars = 0
        self._dropped = 0
        self._task: asyncio.Task[None] | None = None
        self._emitting = False
        self._closed = False
        self.events = 0  # deltas emitted (for tests and benches)

    def feed(self, data: bytes) -> None:
        """A chunk the command printed. Cheap: decode, append, trim; emission is the task's."""
        if self._closed or not data:
            return
        text = self._decoder.decode(data)
        if not text:
            return
        self._pending.append(text)
        self._pending_chars += len(text)
        if self._pending_chars > 2 * self.max_pending:  # trim in batches: O(1) per char
            joined = "".join(self._pending)
            keep = joined[-self.max_pending :]
            self._dropped += len(joined) - len(keep)
            self._pending, self._pending_chars = [keep], len(keep)
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def _take(self) -> tuple[str, int]:
        """Whole lines held (the tail of them, within ``max_pending``; a line counts as whole
        up to a ``\\r``) and the dropped count; a partial last line stays unless it alone
        passes the limit."""
        joined = "".join(self._pending)
        # A ``\r`` ends a line's state too: a progress bar redrawn with ``\r`` shows live.
        cut = max(joined.rfind("\n"), joined.rfind("\r")) + 1
        if cut == 0 and len(joined) < self.max_pending:
            return "", 0
        if cut == 0:
            cut = len(joined)
        text, rest = joined[:cut], joined[cut:]
        dropped = self._dropped
        if len(text) > self.max_pending:
            dropped += len(text) - self.max_pending
            text = text[-self.max_pending :]
        self._pending, self._pending_chars, self._dropped = [rest] if rest else [], len(rest), 0
        return text, dropped

    async def _run(self) -> None:
        try:
            while not self._closed:
                await asyncio.sleep(self.interval_s)
                if self._closed:
                    return
                text, dropped = self._take()
                if not text and not dropped:
                    if not self._pending:
                        return  # idle: the next feed starts a new task
                    continue  # a partial line: look again next interval
                self._emitting = True
                try:
                    await self._emit(
                        ToolOutputDelta(
                            self.session_id, self.call_id, scrub(text, self.secrets), dropped
                        )
                    )
                finally:
                    self._emitting = False
                self.events += 1
        finally:
            self._task = None

    async def close(self) -> None:
        """Stop: nothing is emitted after this returns (the call's ``ToolFinished`` follows
        with the whole output). A delta being delivered is let finish, never cut mid-bus."""
        self._closed = True
        task = self._task
        if task is None:
            return
        if not self._emitting:
            task.cancel()
        # wait, not await: our own cancellation must not cut a delivery short, and a failed
        # delivery (a subscriber's bug) must not fail the tool call whose output it showed.
        await asyncio.wait({task})
        if not task.cancelled() and task.exception() is not None:
            logger.warning("live output of %s not shown", self.call_id, exc_info=task.exception())
