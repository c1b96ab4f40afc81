"""The chat's own slash commands (/help, /new, /sessions, /model, /export, /compact, /clear,
/quit, /rewind, /fork), declared in the one command registry with ``surface="tui"``.

They are registered when this module is imported, which only the TUI does (the chat screen),
so ``opencode GROUP ...`` in a shell never offers them. Their handlers get a ``TuiContext``: the
registry's context plus the chat screen, seen through the ``ChatActions`` protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

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

if TYPE_CHECKING:
    from opencode.sessions.custom_commands import CustomCommand

KEYS_HELP = (
    "Enter sends · Shift+Enter/Ctrl+J newline · Up history · Tab completes · "
    "Esc cancels a turn · F2/F3/F4 panels · Ctrl+P command palette · "
    "@path attaches a file · !cmd runs a shell command · Ctrl+R searches what you sent · "
    "Ctrl+G edits the prompt in $EDITOR"
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

    async def rewind_session(self) -> None:
        """Open the rewind picker on the current session (tui/screens/rewind.py)."""
        ...

    async def fork_session(self) -> None:
        """Fork the current session and switch to the fork."""
        ...

    def start_turn(
        self, text: str, *, model: str | None = None, request_options: dict[str, Any] | None = None
    ) -> None:
        """Send ``text`` as the user's message (a custom command's expansion), with that
        turn's own model and provider options (``tools``) when given."""
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
    notes = "".join(f"\nwarning: {line}" for line in custom_warnings())
    return CommandResult(text=KEYS_HELP + notes, tables=[Table(["command", "what it does"], rows)])


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


async def _rewind(ctx: CommandContext, values: dict[str, Any]) -> CommandResult:
    await _chat(ctx, "rewind").rewind_session()
    return CommandResult()


async def _fork(ctx: CommandContext, values: dict[str, Any]) -> CommandResult:
    await _chat(ctx, "fork").fork_session()
    return CommandResult()


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
_register("rewind", "undo files and/or conversation back to an earlier step (a picker)", _rewind)
_register("fork", "continue in a copy of this session (the original stays as it is)", _fork)


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


# ---------------------------------------------------------------- custom commands (.md files)

# Problems found loading each folder's custom commands (broken frontmatter, a clash).
_CUSTOM_WARNINGS: dict[Path, list[str]] = {}


def custom_warnings(cwd: Path | None = None) -> list[str]:
    """The problems found loading the custom commands of ``cwd`` (default: this folder)."""
    return _CUSTOM_WARNINGS.get((cwd or Path.cwd()).resolve(), [])


def register_custom_commands(cwd: Path) -> list[str]:
    """Register this folder's custom commands (``.opencode/commands/*.md`` ...) as chat
    commands, once per folder; the built-ins win on a clash. Returns the warnings."""
    from opencode.commands.custom import load_custom

    cwd = cwd.resolve()
    if cwd in _CUSTOM_WARNINGS:
        return _CUSTOM_WARNINGS[cwd]
    commands, warnings = load_custom(cwd)
    _CUSTOM_WARNINGS[cwd] = warnings
    taken = {c.path for c in REGISTRY.commands()}
    for name, custom in sorted(commands.items()):
        if (name,) in taken:
            continue  # registered from another folder earlier in this process
        hint = f" {custom.argument_hint}" if custom.argument_hint else ""
        REGISTRY.register(
            Command(
                path=(name,),
                help=(custom.description or f"custom command ({custom.path.name})") + hint,
                handler=_custom_handler(custom),
                args=(Arg("arguments", positional=True, multiple=True, help="its arguments"),),
                surface="tui",
            )
        )
    return warnings


def _custom_handler(custom: CustomCommand) -> Handler:
    async def handler(ctx: CommandContext, values: dict[str, Any]) -> CommandResult:
        from opencode.sessions.custom_commands import ExpansionError, expand, tool_runners
        from opencode.sessions.tools.permissions import Permissions

        chat = _chat(ctx, custom.name)
        if getattr(chat, "running", False):
            raise CommandError("a turn is running; press Esc to cancel it first")
        # Deny rules hold; an "ask" is refused here unless allowed-tools names the tool.
        permissions = Permissions(ctx.config.permission, ctx.cwd, sandbox=ctx.config.sandbox)
        run_shell, read_file = tool_runners(
            permissions, None, ctx.cwd, "tui", custom.tools, ctx.config.literal_secrets()
        )
        arguments = " ".join(values.get("arguments") or [])
        try:
            text = await expand(custom, arguments, ctx.cwd, run_shell, read_file)
        except ExpansionError as exc:
            raise CommandError(f"/{custom.name} ({custom.path}): {exc}; nothing was sent") from exc
        tools = custom.tools
        chat.start_turn(
            text, model=custom.model, request_options={"tools": tools} if tools else None
        )
        return CommandResult()

    return handler


def slash_entries() -> list[tuple[str, str]]:
    """Every slash command with its help, for autocomplete and /help: a command's own help wins
    over an alias of the same name (``/export`` is the chat's, not ``session export``'s)."""
    register_custom_commands(Path.cwd())
    entries = {"/" + c.name: c.help for c in REGISTRY.commands()}
    for name, text in REGISTRY.slash_entries():
        entries.setdefault(name, text)
    return sorted(entries.items())


# ---------------------------------------------------------------- MCP prompts (/SERVER:PROMPT)


def register_mcp_prompts(prompts: list[tuple[str, str, list[str]]]) -> int:
    """Register each MCP prompt (``/SERVER:PROMPT``, description, argument names) as a chat
    command whose expansion is sent as the message; returns how many are new."""
    taken = {c.path for c in REGISTRY.commands()}
    added = 0
    for slash, description, arguments in prompts:
        path = (slash.lstrip("/"),)
        if path in taken:
            continue
        usage = " ".join(f"{a}=..." for a in arguments)
        REGISTRY.register(
            Command(
                path=path,
                help=f"{description or 'MCP prompt'} {usage}".strip(),
                handler=_mcp_prompt_handler(slash),
                args=(Arg("arguments", positional=True, multiple=True, help="its arguments"),),
                surface="tui",
            )
        )
        added += 1
    return added


def _mcp_prompt_handler(slash: str) -> Handler:
    async def handler(ctx: CommandContext, values: dict[str, Any]) -> CommandResult:
        from opencode.commands.mcp.slash import PromptCall, expand

        chat = _chat(ctx, slash.lstrip("/"))
        if getattr(chat, "running", False):
            raise CommandError("a turn is running; press Esc to cancel it first")
        server, _, prompt = slash.lstrip("/").partition(":")
        words = tuple(values.get("arguments") or ())
        chat.start_turn(await expand(ctx.config, ctx.cwd, PromptCall(server, prompt, words)))
        return CommandResult()

    return handler
