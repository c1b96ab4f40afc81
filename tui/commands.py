"""The chat's own slash commands (/help, /new, /sessions, /model, /export, /compact, /clear, /quit),
declared in the one command registry with ``surface="tui"``.

They are registered when this module is imported, which only the TUI does (the chat screen),
so ``opencode GROUP ...`` in a shell never offers them. Their handlers get a ``TuiContext``: the
registry's context plus the chat screen, seen through the ``ChatActions`` protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from opencode.commands.registry import (
    REGISTRY,
    Arg,
    Command,
    CommandContext,
    CommandError,
    CommandResult,
    Handler,
    Table,
    run_command,
)

KEYS_HELP = (
    "Enter sends · Shift+Enter/Ctrl+J newline · Up history · Tab completes · "
    "Esc cancels a turn · F2/F3/F4 panels · Ctrl+P command palette"
)


class ChatActions(Protocol):
    """What the chat's commands may do to the chat screen."""

    async def new_session(self) -> None: ...

    async def clear_view(self) -> None: ...

    def quit_app(self) -> None: ...

    async def pick_session(self) -> None: ...

    async def pick_model(self) -> None: ...

    async def use_model(self, ref: str) -> None:
        """Switch to ``ref`` (already validated against the config)."""
        ...

    async def exportable_session(self) -> str | None:
        """The current session's id with its streamed text flushed to the store, or None."""
        ...


@dataclass(slots=True)
class TuiContext(CommandContext):
    """A command context in the TUI: also the chat screen, for the chat's own commands."""

    chat: ChatActions | None = None


def _chat(ctx: CommandContext, name: str) -> ChatActions:
    if not isinstance(ctx, TuiContext) or ctx.chat is None:
        raise CommandError(f"/{name} works only in the chat of the opencode TUI")
    return ctx.chat


async def _help(ctx: CommandContext, values: dict[str, Any]) -> CommandResult:
    rows = [[name, text] for name, text in slash_entries()]
    return CommandResult(text=KEYS_HELP, tables=[Table(["command", "what it does"], rows)])


async def _new(ctx: CommandContext, values: dict[str, Any]) -> CommandResult:
    await _chat(ctx, "new").new_session()
    return CommandResult()


async def _clear(ctx: CommandContext, values: dict[str, Any]) -> CommandResult:
    await _chat(ctx, "clear").clear_view()
    return CommandResult()


async def _quit(ctx: CommandContext, values: dict[str, Any]) -> CommandResult:
    _chat(ctx, "quit").quit_app()
    return CommandResult()


async def _sessions(ctx: CommandContext, values: dict[str, Any]) -> CommandResult:
    await _chat(ctx, "sessions").pick_session()
    return CommandResult()


async def _model(ctx: CommandContext, values: dict[str, Any]) -> CommandResult:
    from opencode.sessions.config import ConfigError

    chat = _chat(ctx, "model")
    ref = values.get("ref")
    if not ref:
        await chat.pick_model()
        return CommandResult()
    try:
        ctx.config.resolve_model(ref)
    except ConfigError as exc:
        raise CommandError(str(exc)) from exc
    await chat.use_model(ref)
    return CommandResult(data={"model": ref}, text=f"model set to {ref}")


async def _export(ctx: CommandContext, values: dict[str, Any]) -> CommandResult:
    session_id = await _chat(ctx, "export").exportable_session()
    if session_id is None:
        raise CommandError("nothing to export yet: send a message first")
    target = values.get("file") or f"opencode-{session_id}.md"
    # Words straight to the parser (no command line re-built and re-split): a file name with
    # quotes, spaces or a leading dash arrives exactly as typed; ``=`` keeps ``-x`` a value.
    command, parsed = REGISTRY.parse(["session", "export", session_id, f"--output={target}"])
    return await run_command(ctx, command, parsed)


def _register(name: str, help: str, handler: Handler, args: tuple[Arg, ...] = ()) -> None:
    REGISTRY.register(Command(path=(name,), help=help, handler=handler, args=args, surface="tui"))


_register("help", "list every command", _help)
_register("new", "start a new session", _new)
_register("sessions", "pick a session of this directory to resume", _sessions)
_register(
    "model",
    "pick the model (or /model PROVIDER/MODEL)",
    _model,
    (Arg("ref", positional=True, metavar="PROVIDER/MODEL", help="the model to use"),),
)
_register(
    "export",
    "export this session as markdown (/export [FILE])",
    _export,
    (Arg("file", positional=True, help="where to write it (default opencode-<id>.md)"),),
)
_register("clear", "clear the transcript view (the session is kept)", _clear)


async def _compact(ctx: CommandContext, values: dict[str, Any]) -> CommandResult:
    from opencode.sessions.store.sessions import SessionRepo

    session_id = await _chat(ctx, "compact").exportable_session()
    # A new session has no row until its first message: nothing to compact either way.
    if session_id is None or not await SessionRepo(ctx.store).count_messages(session_id):
        raise CommandError("nothing to compact yet: send a message first")
    focus = " ".join(values.get("focus") or []).strip()
    words = ["session", "compact", session_id] + ([f"--focus={focus}"] if focus else [])
    command, parsed = REGISTRY.parse(words)
    return await run_command(ctx, command, parsed)


_register(
    "compact",
    "summarise the older turns to free context (/compact [FOCUS])",
    _compact,
    (Arg("focus", positional=True, multiple=True, help="what the summary should keep"),),
)
_register("quit", "quit opencode", _quit)


def slash_entries() -> list[tuple[str, str]]:
    """Every slash command with its help, for autocomplete and /help: a command's own help wins
    over an alias of the same name (``/export`` is the chat's, not ``session export``'s)."""
    entries = {"/" + c.name: c.help for c in REGISTRY.commands()}
    for name, text in REGISTRY.slash_entries():
        entries.setdefault(name, text)
    return sorted(entries.items())
