"""Messages passed between the TUI's widgets and screens, gathered in one place."""

from __future__ import annotations

from textual.message import Message


class PromptSubmitted(Message):
    """The user pressed Enter in the prompt (text may be a /command)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class DataChanged(Message):
    """A command changed data in these domains (backlog, target, verification, session)."""

    def __init__(self, domains: frozenset[str]) -> None:
        super().__init__()
        self.domains = domains


class TurnStateChanged(Message):
    """A turn started (``running``) or ended."""

    def __init__(self, running: bool) -> None:
        super().__init__()
        self.running = running
