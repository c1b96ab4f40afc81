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
GROUPS_TITLE = "Command groups"
HELP_MORE = "/help GROUP lists a group's commands (/help sync) · /help all lists every command"


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

    async def recent_replies(self, count: int) -> list[str]:
        """The text of the last ``count`` assistant replies (those with text), newest first."""
        ...

    def copy_to_clipboard(self, text: str) -> None:
        """Hand ``text`` to the terminal's clipboard (OSC 52)."""
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
    """The chat's and the single commands in full, one line per group (``/help GROUP`` lists
    a group, ``/help all`` everything): all 40+ lines are taller than a terminal, and the
    chat's commands are what a newcomer looks for."""
    sections = slash_sections()
    wanted = (values.get("group") or "").strip().lstrip("/")
    if wanted and wanted != "all":
        sections = [s for s in sections if s.group == wanted]
        if not sections:
            groups = ", ".join(s.group for s in slash_sections() if s.group)
            raise CommandError(f"no command group {wanted!r}; the groups are: {groups}")
    shown = sections if wanted else [s for s in sections if not s.group]
    tables = [
        Table(["command", "what it does"], [[n, t] for n, t in s.entries], title=s.title)
        for s in shown
    ]
    text = KEYS_HELP
    if not wanted:
        rows: list[list[Any]] = [
            [f"/{s.group} …", f"{_about(s)} · {len(s.entries) - 1} commands"]
            for s in sections
            if s.group
        ]
        tables.append(Table(["group", "what it holds"], rows, title=GROUPS_TITLE))
        text = HELP_MORE + "\n" + KEYS_HELP
    notes = "".join(f"\nwarning: {line}" for line in custom_warnings())
    return CommandResult(text=text + notes, tables=tables)


def _about(section: SlashSection) -> str:
    return GROUP_HELP.get(section.group) or section.title.split(": ", 1)[-1]


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


async def _copy(ctx: CommandContext, values: dict[str, Any]) -> CommandResult:
    import asyncio

    from opencode.tui.clipboard import OSC52_MAX_BYTES, copy_with_tool, fits_osc52, save_copy

    chat = _chat(ctx, "copy")
    nth = values.get("n") or 1
    if nth < 1:
        raise CommandError(f"/copy N counts replies from the last (1); {nth} is not one")
    replies = await chat.recent_replies(nth)
    if len(replies) < nth:
        if not replies:
            raise CommandError("nothing to copy: there is none yet in this session")
        raise CommandError(f"no reply {nth} back to copy: there are only {len(replies)}")
    text = replies[nth - 1]
    osc52 = fits_osc52(text)
    if osc52:
        chat.copy_to_clipboard(text)  # OSC 52: the terminal may or may not pass it on
    tool = await copy_with_tool(text)
    try:
        path = await asyncio.to_thread(save_copy, text, ctx.config.data_dir)
    except OSError as exc:
        saved = f"; could not save it to {ctx.config.data_dir} ({exc.strerror or exc})"
    else:
        saved = f"; also saved to {path}"
    which = "the last reply" if nth == 1 else f"reply {nth} from the last"
    if not osc52:
        # Sent anyway, the escape would be dropped and the clipboard keep the previous copy.
        where = f"sent to {tool}" if tool else "the clipboard was not changed"
        return CommandResult(
            data={"chars": len(text), "tool": tool, "osc52": False},
            text=(
                f"{which} ({len(text):,} characters) is too large for the terminal's clipboard "
                f"escape (OSC 52, {OSC52_MAX_BYTES:,} bytes at most): {where}{saved}"
            ),
        )
    via = f"the terminal (OSC 52) and {tool}" if tool else "the terminal (OSC 52)"
    return CommandResult(
        data={"chars": len(text), "tool": tool, "osc52": True},
        text=f"copied {which} ({len(text):,} characters): sent to {via}{saved}",
    )


def _register(name: str, help: str, handler: Handler, args: tuple[Arg, ...] = ()) -> None:
    REGISTRY.register(Command(path=(name,), help=help, handler=handler, args=args, surface="tui"))


_register(
    "help",
    "list every command",
    _help,
    (
        Arg(
            "group",
            positional=True,
            metavar="GROUP",
            help="only this group (sync, backlog, …); all: every command",
        ),
    ),
)
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
_register(
    "copy",
    "copy the last reply to the clipboard (/copy N: the Nth last)",
    _copy,
    (Arg("n", positional=True, type=int, metavar="N", help="which reply, 1 = the last"),),
)


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


# The chat's own commands in the order a newcomer needs them; custom and MCP ones follow.
CHAT_ORDER = (
    "help", "new", "sessions", "model", "copy", "compact", "clear", "export", "rewind", "fork",
    "quit",
)  # fmt: skip
# One line per command group, for its collapsed entry in completion and its /help heading.
GROUP_HELP = {
    "agent": "subagent profiles for the task tool",
    "backlog": "the work backlog: add, groom, done, check against git",
    "config": "where settings come from; merge configs into targets",
    "hooks": "hooks run on session events",
    "mcp": "MCP servers, their tools, resources and prompts",
    "patch": "correction rules applied to model output",
    "permission": "why a tool call is allowed, asked or denied",
    "provider": "providers: breakers, call log, models an endpoint serves",
    "proxy": "the local OpenAI/Anthropic proxy",
    "rag": "troubleshooting notes and docs search",
    "session": "sessions: list, search, show, export, fork, rewind",
    "sync": "synchronise target projects with this source",
    "target": "the registry of target projects, their backups",
    "verify": "post-sync verification runs",
    "workflow": "multi-step workflows with dependencies",
}


@dataclass(frozen=True, slots=True)
class SlashSection:
    """A heading of /help and a block of the completion list: the chat's commands, the other
    single commands, or one command group (``group``) with its subcommands."""

    title: str
    entries: list[tuple[str, str]]
    group: str = ""


def slash_sections() -> list[SlashSection]:
    """The slash commands by section: the chat's own first (``CHAT_ORDER``, then custom and MCP
    ones), the other single commands, then one section per group, alphabetical. A command's own
    help wins over an alias of the same name (``/export`` is the chat's, not
    ``session export``'s)."""
    register_custom_commands(Path.cwd())
    commands = REGISTRY.commands()
    entries = {"/" + c.name: c.help for c in commands}
    for name, text in REGISTRY.slash_entries():
        entries.setdefault(name, text)
    chat_names = {"/" + c.name for c in commands if c.surface == "tui"}
    rank = {f"/{name}": i for i, name in enumerate(CHAT_ORDER)}
    chat = sorted(chat_names, key=lambda n: (rank.get(n, len(rank)), n))
    single = sorted(n for n in entries if " " not in n and n not in chat_names)
    groups: dict[str, list[str]] = {}
    for name in sorted(entries):
        if " " in name:
            groups.setdefault(name[1:].split(" ", 1)[0], []).append(name)
    sections = [
        SlashSection("Chat", [(n, entries[n]) for n in chat]),
        SlashSection("Project", [(n, entries[n]) for n in single if n[1:] not in groups]),
    ]
    for group, names in sorted(groups.items()):
        own = entries.get(f"/{group}")  # /mcp is a command and a group
        about = GROUP_HELP.get(group) or own or f"the {group} commands"
        head = f"{about} · {len(names)} command{'s' if len(names) != 1 else ''}"
        lead = [(f"/{group}", own or head)]
        sections.append(
            SlashSection(f"/{group}: {about}", lead + [(n, entries[n]) for n in names], group)
        )
    return [s for s in sections if s.entries]


def slash_entries() -> list[tuple[str, str]]:
    """Every slash command with its help in display order (``slash_sections``): a group's own
    entry (``/sync``) comes before its subcommands, which ``suggestions`` shows only once the
    group's name is typed."""
    return [entry for section in slash_sections() for entry in section.entries]


def suggestions(entries: list[tuple[str, str]], typed: str) -> list[tuple[str, str]]:
    """The entries to offer for the prompt text ``typed`` (which starts with ``/``): those it
    is a prefix of, a group's subcommands only once the group's word is typed whole
    (``/sy`` offers ``/sync``; ``/sync`` and ``/sync r`` offer ``/sync run``...)."""
    typed = typed.rstrip()
    first = typed.split(" ", 1)[0]
    return [
        (name, text)
        for name, text in entries
        if name.startswith(typed)
        and name != typed
        and (" " not in name or name.split(" ", 1)[0] == first)
    ]


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
