"""A modal that keystrokes typed before it appeared cannot answer.

Someone typing when the modal opens ("list files", Enter) must not answer it by accident: an
answer counts only once no key has arrived for ``ARMING_S``; an earlier one is ignored and
restarts the wait. On mount the focus goes to ``SAFE_BUTTON`` (the least a screen can grant).

Enter presses the focused button only once the user has moved between the buttons (Tab or
arrows): someone who types a message, pauses while the modal opens and then presses Enter to
send it has made no choice, and a pause is not a decision. Until then Enter only says which
keys answer (``enter_hint``).
"""

from __future__ import annotations

import time
from typing import ClassVar, TypeVar

from textual import events
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Button

T = TypeVar("T")


class ArmedModal(ModalScreen[T]):
    # Quiet time before an answer counts: longer than the gap between keys of someone typing,
    # short enough that a deliberate answer is not noticeably held up.
    ARMING_S: ClassVar[float] = 0.5
    SAFE_BUTTON: ClassVar[str] = ""
    MOVE_KEYS: ClassVar[frozenset[str]] = frozenset({"tab", "shift+tab", "left", "right"})

    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: the focused Button would otherwise take Enter as a press.
        Binding("enter", "press_focused", show=False, priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._quiet_since = time.monotonic()
        self.moved = False  # the user has moved between the buttons: Enter is a choice now
        # Characters typed while unarmed: the rest of what the user was typing when the modal
        # opened ("files" of "now list the files"). They answer nothing; the owner puts them
        # back where they were headed (the prompt) so no typed text is lost.
        self.stray = ""

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
            if event.is_printable and event.character:
                self.stray += event.character
        elif event.key in self.MOVE_KEYS:
            self.moved = True

    def action_press_focused(self) -> None:
        focused = self.focused
        if not isinstance(focused, Button):
            return
        if not self.moved:
            if self._deliberate():  # armed, but Enter alone chooses nothing: say what does
                self.enter_hint()
            return
        focused.press()

    def enter_hint(self) -> None:
        """Enter before any move between the buttons: tell the user which keys answer."""
        self.notify("Choose with a key, or move to a button (Tab, arrows) and press Enter.")
