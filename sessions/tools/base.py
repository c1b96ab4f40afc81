"""The tool contract: a JSON schema for the model, a permission subject, and ``run``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

# Called with (absolute path, bytes before the change or None if the file did not exist),
# before a tool changes a file; the store keeps it for undo.
ChangeRecorder = Callable[[Path, bytes | None], Awaitable[None]]


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
