"""What a user's input becomes before any model call: the turn's opening and ``!command``.

``open_turn`` does what ``Runner.send`` does before its first step: title a new session from
the prompt, fire ``UserPromptSubmit`` (which may block the prompt or add context), build the
turn's system prompt (configured or built-in, AGENTS.md files, hook context), emit the user's
message, attach its ``@path`` mentions (``mentions.py``) and append it to the history sent to
the model. ``shell`` is the ``!command`` entry point (``shell_mode.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opencode.sessions.events import (
    MessageFinished,
    MessageStarted,
    PartStarted,
    SessionTitled,
    TurnFinished,
    Usage,
)
from opencode.sessions.ids import new_id
from opencode.sessions.instructions import new_warnings
from opencode.sessions.mentions import mention_blocks, user_content
from opencode.sessions.providers.base import ChatMessage
from opencode.sessions.requests import DEFAULT_SYSTEM_PROMPT
from opencode.sessions.session_hooks import hook_problems
from opencode.sessions.session_start import RunnerError

if TYPE_CHECKING:
    from opencode.sessions.runner import Runner
    from opencode.sessions.store.sessions import SessionRecord


def title_from(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "untitled"
    return line[:60] + ("…" if len(line) > 60 else "")


async def open_turn(
    runner: Runner, session: SessionRecord, text: str, history: list[ChatMessage], mentions: bool
) -> str | TurnFinished:
    """The turn's system prompt once the user's message is saved and in ``history``; or the
    ``TurnFinished`` (already emitted) that ends the turn before any step."""
    bus = runner.bus
    if not session.title:
        session.title = title_from(text)
        await bus.emit(SessionTitled(session.id, session.title))

    # --- hooks: UserPromptSubmit may block the prompt (nothing is sent) or add context
    submitted = await runner.hooks.fire("UserPromptSubmit", session.id, prompt=text)
    await hook_problems(bus, session.id, submitted.problems)
    if submitted.blocked:
        reason = f"prompt blocked by a UserPromptSubmit hook: {submitted.reason}"
        await hook_problems(bus, session.id, [reason])
        blocked = TurnFinished(session.id, "blocked", Usage(), 0, reason)
        await bus.emit(blocked)
        return blocked
    turn_system = system_prompt(runner, session.id, submitted.context)
    await hook_problems(bus, session.id, new_warnings(runner.instructions))
    # --- end hooks

    user_id = new_id("msg")
    await bus.emit(MessageStarted(session.id, user_id, "user"))
    await bus.emit(PartStarted(session.id, user_id, new_id("prt"), 1, "text", text))
    blocks, stop = await mention_blocks(runner, session.id, user_id, text, mentions)
    await bus.emit(MessageFinished(session.id, user_id, "stop"))
    runner.saved(session.id)  # the store wrote its row with this message
    if stop is not None:  # a mention needed a permission nobody may give (--on-ask fail)
        await bus.emit(stop)
        return stop
    history.append(ChatMessage(role="user", content=user_content(text, blocks)))
    return turn_system


def system_prompt(runner: Runner, session_id: str, context: list[str]) -> str:
    """The configured (or built-in) prompt, the project's AGENTS.md files, hook context."""
    from opencode.sessions.instructions import system_prompt as with_instructions

    base = (
        runner.system_prompt  # a subagent's (its profile's prompt on the parent's)
        or runner.config.system_prompt
        or DEFAULT_SYSTEM_PROMPT.format(cwd=runner.cwd)
    )
    prompt, runner.instructions = with_instructions(base, runner.cwd)
    extra = [*runner.hook_context.get(session_id, []), *context]
    if extra:
        prompt += "\n\nContext from hooks:\n" + "\n\n".join(extra)
    return prompt


async def shell(runner: Runner, session_id: str, command: str) -> TurnFinished:
    """A ``!command`` the user typed, as context for the next turn (shell_mode.py)."""
    from opencode.sessions.shell_mode import run_user_command

    session = await runner.session_record(session_id)
    if session is None:
        raise RunnerError(f"no session {session_id!r}")
    if not session.title:
        session.title = title_from("!" + command)
        await runner.bus.emit(SessionTitled(session.id, session.title))
    finished = await run_user_command(runner, session.id, command)
    runner.saved(session.id)  # written with its message (send pops it too)
    return finished
