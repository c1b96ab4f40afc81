"""The tool contract: a JSON schema for the model, a permission subject, and ``run``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from opencode.sessions.events import SessionEvent
    from opencode.sessions.store.db import Store

# Called with (absolute path, bytes before the change or None if the file did not exist),
# before a tool changes a file; the store keeps it for undo.
ChangeRecorder = Callable[[Path, bytes | None], Awaitable[None]]
# Called with the bytes a running command printed, as they arrive (bash): the tool-call path
# turns them into throttled ``ToolOutputDelta`` events for live display. Must not block.
OutputSink = Callable[[bytes], None]


@dataclass(slots=True)
class ToolContext:
    cwd: Path
    session_id: str
    call_id: str
    record_change: ChangeRecorder
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    # The subject the permission decision was made on, for this very call: a file tool acts
    # on the path resolved then (``subject.resolved``), never on a second resolution.
    approved: PermissionSubject | None = None
    # Live output of a running command (None: nobody watches). Set by ``ToolCalls``.
    on_output: OutputSink | None = None
    # For tools that change session state through the bus (``todowrite``) or read it back
    # (``todoread``): the session's event bus ``emit`` and its store. None outside a session.
    emit: Callable[[SessionEvent], Awaitable[None]] | None = None
    store: Store | None = None


@dataclass(slots=True)
class ToolResult:
    output: str
    is_error: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)  # e.g. diff, exit_code, path


class ToolError(Exception):
    """A tool refused or failed in a way the model should read (becomes an error result)."""


@dataclass(slots=True)
class PermissionSubject:
    """What a permission rule is matched against.

    ``subject`` is the path or command shown to the user; ``default`` is the action to take
    when config has no rule for this tool (``ask`` for paths outside cwd or ``.env*`` reads).
    """

    subject: str
    default: str | None = None
    # For path subjects: the resolved path the decision is about (not part of equality).
    resolved: Path | None = field(default=None, compare=False)


class Tool(Protocol):
    name: str
    description: str
    parameters: dict[str, Any]

    def permission_subject(self, args: dict[str, Any], cwd: Path) -> PermissionSubject: ...

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult: ...
