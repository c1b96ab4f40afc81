"""``!command``: a shell command the user typed in the prompt, run for them and kept as context.

The user typed it, so nobody is asked (``UserTyped`` allows it, as their own shell would), but
it takes the model's bash path otherwise: the bash tool (sandboxed where a sandbox is set up,
with its time limit and bounded capture), the workspace snapshot that lets a rewind undo what it
changed, secret scrubbing of the output, and the bus events. It is stored as a user message
whose text is what was typed (``!ls``) and whose ``tool_call``/``tool_result`` parts hold the
command and its output; ``mentions.attached_context`` puts them into what the model reads on the
next turn, so a resumed session has them too. No model is called.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import weakref
from typing import TYPE_CHECKING

from opencode.sessions.events import (
    MessageFinished,
    MessageStarted,
    PartStarted,
    ToolCallEnd,
    TurnFinished,
    Usage,
)
from opencode.sessions.ids import new_id
from opencode.sessions.permissions_api import PermissionAction
from opencode.sessions.tools.base import PermissionSubject

if TYPE_CHECKING:
    from opencode.sessions.runner import Runner
    from opencode.sessions.tool_calls import ToolCalls

# The bash tool's own default; a command the user wants longer runs in a terminal of theirs.
USER_COMMAND_TIMEOUT_S = 120
PREFIX = "!"


def shell_command(text: str) -> str | None:
    """The command of a prompt line in shell mode (``!ls -la`` -> ``ls -la``), else None."""
    if not text.startswith(PREFIX):
        return None
    command = text[len(PREFIX) :].strip()
    return command or None


class UserTyped:
    """The permission policy of a command the user typed: allowed, nobody asked."""

    def decide(self, tool_name: str, subject: PermissionSubject, /) -> PermissionAction:
        return "allow"

    def explain(
        self, tool_name: str, subject: PermissionSubject, /
    ) -> tuple[PermissionAction, str]:
        return "allow", "typed by the user (!)"

    def grant_session(self, tool: str, subject: PermissionSubject | str, /) -> None:
        return None


_CALLS: weakref.WeakKeyDictionary[Runner, ToolCalls] = weakref.WeakKeyDictionary()


def _user_calls(runner: Runner) -> ToolCalls:
    """A ``ToolCalls`` like the runner's, with ``UserTyped`` and no hooks; one per runner, so
    its workspace snapshot (for rewind) is kept between commands."""
    from opencode.sessions.tool_calls import ToolCalls

    made = _CALLS.get(runner)
    if made is not None:
        return made
    own = runner.tool_calls
    made = ToolCalls(
        bus=runner.bus,
        repo=runner.repo,
        cwd=runner.cwd,
        permissions=UserTyped(),
        asker=own.asker,
        secrets=own.secrets,
        snapshot_budget=own.snapshot_budget,
    )
    _CALLS[runner] = made
    return made


async def run_user_command(runner: Runner, session_id: str, command: str) -> TurnFinished:
    """Run ``command`` as the user's message in ``session_id`` and finish it as a turn of
    zero steps (``stop``; ``interrupted`` when cancelled, after the command is killed)."""
    bash = runner.tools.get("bash")
    user_id = new_id("msg")
    bus = runner.bus
    await bus.emit(MessageStarted(session_id, user_id, "user"))
    await bus.emit(PartStarted(session_id, user_id, new_id("prt"), 1, "text", PREFIX + command))
    if bash is None:
        missing = "the bash tool is not available in this session"
        await bus.emit(MessageFinished(session_id, user_id, "error"))
        finished = TurnFinished(session_id, "error", Usage(), 0, missing)
        await bus.emit(finished)
        return finished
    seq = itertools.count(2)  # the typed line is part 1
    args = json.dumps({"command": command, "timeout": USER_COMMAND_TIMEOUT_S})
    call = ToolCallEnd(0, new_id("call"), "bash", args)
    cancel = asyncio.Event()
    try:
        await _user_calls(runner).run(
            session_id, user_id, lambda: next(seq), call, {"bash": bash}, cancel
        )
    except asyncio.CancelledError:
        cancel.set()
        await bus.emit(MessageFinished(session_id, user_id, "interrupted"))
        await bus.emit(TurnFinished(session_id, "interrupted", Usage(), 0))
        raise
    await bus.emit(MessageFinished(session_id, user_id, "stop"))
    finished = TurnFinished(session_id, "stop", Usage(), 0)
    await bus.emit(finished)
    return finished
