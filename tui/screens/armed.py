"""A modal that keystrokes typed before it appeared cannot answer.

Someone typing when the modal opens ("list files", Enter) must not answer it by accident: an
answer counts only once no key has arrived for ``ARMING_S``; an earlier one is ignored and
restarts the wait. On mount the focus goes to ``SAFE_BUTTON`` (the answer a stray Enter
after arming may pick: the least a screen can grant).
"""

from __future__ import annotations

import time
from typing import ClassVar, TypeVar

from textual import events
from textual.screen import ModalScreen
from textual.widgets import Button

T = TypeVar("T")


class ArmedModal(ModalScreen[T]):
    # Quiet time before an answer counts: longer than the gap between keys of someone typing,
    # short enough that a deliberate answer is not noticeably held up.
    ARMING_S: ClassVar[float] = 0.5
    SAFE_BUTTON: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self._quiet_since = time.monotonic()

    def on_mount(self) -> None:
        self._quiet_since = time.monotonic()
        if self.SAFE_BUTTON:
            self.query_one(f"#{self.SAFE_BUTTON}", Button).focus()

    @property
    def armed(self) -> bool:
        """Whether an answer counts now: no key for ``ARMING_S`` since the modal opened."""
        return time.monotonic() - self._quiet_since >= self.ARMING_S

    def _deliberate(self) -> bool:
        if self.armed:
            return True
        self._quiet_since = time.monotonic()  # still typing: wait for a pause
        return False

    def on_key(self, event: events.Key) -> None:
        # Every key restarts the quiet time while unarmed, bound or not (the "l" of "list").
        if not self.armed:
            self._quiet_since = time.monotonic()
