"""What a screen may use of the app that hosts it, as a typed protocol.

Screens and panels depend on this protocol, never on ``opencode.tui.app``: the app imports a
screen's module when the screen is first opened (``SCREENS`` factories), and no screen imports
the app back, so there is no import cycle hidden behind function-level imports.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from opencode.commands.registry import CommandContext
    from opencode.sessions.config import Config
    from opencode.sessions.engine import Engine
    from opencode.tui.commands import ChatActions


@runtime_checkable
class ChatHost(Protocol):
    """The app as the chat screen sees it: the engine, the config and the working folder."""

    engine: Engine
    config: Config
    cwd: Path

    def command_context(
        self, progress: Callable[[str], None], chat: ChatActions | None = None
    ) -> CommandContext:
        """A context for running a registered command, with ``progress`` as its output sink;
        ``chat`` is the screen the chat's own commands act on."""
        ...
