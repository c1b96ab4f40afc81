"""What the runner needs from a permission policy, and how it asks a person.

``PermissionPolicy`` is the protocol of the public methods the runner calls on
``opencode.sessions.tools.permissions.Permissions`` (``decide``, ``explain``,
``grant_session``), so the runner is typed against behaviour, not one class; a proxy or a
subagent may bring its own.
The asker types are what a front end implements: the TUI answers with a modal, headless
``opencode run`` with its ``--on-ask`` policy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from opencode.sessions.tools.base import PermissionSubject

PermissionAction = Literal["allow", "ask", "deny"]
PermissionAnswer = Literal["allow_once", "allow_session", "deny"]


class PermissionPolicy(Protocol):
    def decide(self, tool_name: str, subject: PermissionSubject, /) -> PermissionAction:
        """Allow, ask or deny this tool call on this subject."""
        ...

    def explain(
        self, tool_name: str, subject: PermissionSubject, /
    ) -> tuple[PermissionAction, str]:
        """The decision and the rule that made it (shown to the user and told to the model)."""
        ...

    def grant_session(self, tool: str, subject: PermissionSubject | str, /) -> None:
        """Remember an "allow for this session" answer (or one restored from the store)."""
        ...


@dataclass(frozen=True, slots=True)
class PermissionRequest:
    session_id: str
    call_id: str
    tool: str
    subject: str
    arguments: dict[str, Any]


PermissionAsker = Callable[[PermissionRequest], Awaitable[PermissionAnswer]]


class PermissionRequired(Exception):  # noqa: N818 - it is a signal, not an error
    """Raised by an asker that must not answer (headless ``--on-ask fail``): the turn ends."""
