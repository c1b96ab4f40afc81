"""One command registry for the shell and the chat.

A command is declared once (``Command``: a name path such as ``("sync", "run")``, its
arguments, help and an async handler). ``opencode sync run --target web``, ``/sync run web``
typed in the TUI and ``opencode run "/sync run web"`` all resolve through ``Registry.parse``
and call the same handler, which returns a structured ``CommandResult``; renderers in
``opencode.commands.render`` (and the TUI) turn that into text, JSON or widgets.

Domain packages declare their commands in a module listed in ``COMMAND_MODULES``; those modules
must stay cheap to import (heavy imports go inside handlers).
"""

from __future__ import annotations

import argparse
import importlib
import shlex
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from opencode.sessions.config import Config
    from opencode.sessions.store.db import Store

# Modules that declare commands (each calls ``register`` at import time).
COMMAND_MODULES: list[str] = [
    "opencode.commands.session.cmds",
    "opencode.commands.session.search",
    "opencode.commands.session.compact",
    "opencode.commands.session.imports",
    "opencode.commands.target.cmds",
    "opencode.commands.sync.cmds",
    "opencode.commands.verify.cmds",
    "opencode.commands.backlog.cmds",
    "opencode.commands.patch.cmds",
    "opencode.commands.proxy.cmds",
    "opencode.commands.permission.cmds",
    "opencode.commands.provider.cmds",
    "opencode.commands.agent.cmds",
    "opencode.commands.config.cmds",
    "opencode.commands.hooks.cmds",
    "opencode.commands.mcp.cmds",
    "opencode.commands.rag.cmds",
    "opencode.commands.workflow.cmds",
    "opencode.commands.trust.cmds",
]


class UsageError(Exception):
    """Bad command line: unknown command or bad arguments. Exit code 2."""

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.usage = usage

    def __str__(self) -> str:
        text = self.args[0]
        return f"{text}\n\n{self.usage}".rstrip() if self.usage else str(text)


class HelpRequested(UsageError):
    """``-h``/``--help`` on a command: its usage is the answer (stdout, exit 0)."""


class CommandError(Exception):
    """A command failed for a reason the user can act on (missing path, unknown id).

    ``hint`` says what to do, when the message alone does not."""

    def __init__(self, message: str, exit_code: int = 1, hint: str | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.hint = hint


@dataclass(frozen=True, slots=True)
class CommandFailure:
    """Why a command failed, as fields: renderers and panels read ``message`` and ``hint``
    instead of parsing an ``"error: ..."`` line back out of the display text."""

    message: str
    hint: str | None = None

    def to_json(self) -> dict[str, str]:
        """The JSON shape of a failure (``--format json``): ``{"error": ..., "hint": ...}``."""
        return {"error": self.message, **({"hint": self.hint} if self.hint else {})}

    def lines(self) -> list[str]:
        """The plain-text form: ``error: MESSAGE`` then ``hint: HINT``."""
        return [f"error: {self.message}"] + ([f"hint: {self.hint}"] if self.hint else [])


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument. ``positional`` and ``option`` may both be set: ``/sync run web`` and
    ``sync run --target web`` then fill the same ``name``."""

    name: str
    help: str = ""
    positional: bool = False
    option: str | None = None
    short: str | None = None
    type: Callable[[str], Any] = str
    choices: Sequence[str] | None = None
    required: bool = False
    default: Any = None
    flag: bool = False
    multiple: bool = False
    metavar: str | None = None


@dataclass(frozen=True, slots=True)
class Table:
    columns: list[str]
    rows: list[list[Any]]
    title: str | None = None


@dataclass(slots=True)
class CommandResult:
    """What a handler returns. ``data`` is the JSON-able payload ``--format json`` prints;
    ``text`` (markdown-ish plain text) and ``tables`` are for people. ``changed`` names the
    domains whose data changed (``backlog``, ``target``, ``verification``, ``session``) so the
    TUI can refresh its panels.

    ``error`` is set when the command as a whole failed (``CommandResult.failure``, or a
    ``CommandError`` caught by ``run_command``); renderers send such a result to stderr and
    panels show ``error.message``. A command that ran but reports failed items (a sync of
    three targets with one failure) keeps ``error`` unset and says so in ``data`` and
    ``exit_code``."""

    data: Any = None
    text: str | None = None
    tables: list[Table] = field(default_factory=list)
    exit_code: int = 0
    changed: frozenset[str] = frozenset()
    error: CommandFailure | None = None

    @classmethod
    def failure(cls, message: str, *, hint: str | None = None, exit_code: int = 1) -> CommandResult:
        """A failed result: ``error`` set, ``data`` its JSON form, ``exit_code`` non-zero."""
        error = CommandFailure(message, hint)
        return cls(
            data=error.to_json(),
            text="\n".join(error.lines()),
            exit_code=exit_code or 1,
            error=error,
        )

    @property
    def ok(self) -> bool:
        return self.error is None and self.exit_code == 0


# How a result will be shown: plain text, the raw ``text`` as markdown, or JSON. Handlers
# that write files (``session export --output``) read it from the context.
OutputFormat = Literal["text", "json", "markdown"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("text", "json", "markdown")


@dataclass(slots=True)
class CommandContext:
    store: Store
    config: Config
    cwd: Path
    # Progress lines (stderr in the shell, the transcript in the TUI).
    progress: Callable[[str], None] = lambda line: None
    interactive: bool = False
    format: OutputFormat = "text"


Handler = Callable[[CommandContext, dict[str, Any]], Awaitable[CommandResult]]


@dataclass(frozen=True, slots=True)
class Command:
    path: tuple[str, ...]
    help: str
    handler: Handler
    args: tuple[Arg, ...] = ()
    description: str = ""
    # Slash-only aliases, e.g. ``("sessions",)`` for ``session list``.
    aliases: tuple[tuple[str, ...], ...] = ()
    # Where the command is offered: "all" (shell and chat), or "tui" for the chat's own commands
    # (/new, /model...), which opencode.tui.commands registers; the shell never imports that.
    surface: str = "all"

    @property
    def name(self) -> str:
        return " ".join(self.path)

    def usage(self, prog: str = "opencode") -> str:
        return self.parser(prog).format_help()

    def parser(self, prog: str = "opencode") -> argparse.ArgumentParser:
        parser = _RaisingParser(
            prog=f"{prog} {self.name}",
            description=self.description or self.help,
            add_help=False,
            exit_on_error=False,
        )
        for arg in self.args:
            _add_argument(parser, arg)
        return parser


def _add_argument(parser: argparse.ArgumentParser, arg: Arg) -> None:
    common: dict[str, Any] = {"help": arg.help}
    if arg.choices is not None:
        common["choices"] = list(arg.choices)
    if arg.metavar:
        common["metavar"] = arg.metavar
    if arg.positional:
        nargs: str | None
        if arg.multiple:
            nargs = "+" if arg.required and not arg.option else "*"
        else:
            nargs = None if arg.required and not arg.option else "?"
        dest = f"_pos_{arg.name}" if arg.option else arg.name
        parser.add_argument(
            dest,
            nargs=nargs,
            type=arg.type,
            metavar=arg.metavar or arg.name.upper(),
            **{k: v for k, v in common.items() if k != "metavar"},
        )
    if arg.option:
        names = [arg.option] + ([arg.short] if arg.short else [])
        if arg.flag:
            parser.add_argument(*names, dest=arg.name, action="store_true", help=arg.help)
        else:
            parser.add_argument(
                *names,
                dest=arg.name,
                type=arg.type,
                action="append" if arg.multiple else "store",
                required=arg.required and not arg.positional,
                default=None,
                **common,
            )


class _RaisingParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse calls this instead of raising
        raise UsageError(f"{self.prog}: {message}", self.format_help())


class Registry:
    def __init__(self) -> None:
        self._commands: dict[tuple[str, ...], Command] = {}
        self._aliases: dict[tuple[str, ...], Command] = {}
        self._loaded = False

    def register(self, command: Command) -> Command:
        if command.path in self._commands:
            raise ValueError(f"command {command.name!r} registered twice")
        self._commands[command.path] = command
        for alias in command.aliases:
            self._aliases[alias] = command
        return command

    def load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for module in COMMAND_MODULES:
            importlib.import_module(module)

    def commands(self) -> list[Command]:
        self.load()
        return sorted(self._commands.values(), key=lambda c: c.path)

    def groups(self) -> list[str]:
        return sorted({c.path[0] for c in self.commands()})

    def slash_entries(self) -> list[tuple[str, str]]:
        """(``/name``, help) for every command and alias: the TUI's autocomplete list."""
        self.load()
        entries = [("/" + c.name, c.help) for c in self._commands.values()]
        entries += [("/" + " ".join(a), c.help) for a, c in self._aliases.items()]
        return sorted(entries)

    def get(self, path: Sequence[str]) -> Command:
        """The command at exactly ``path`` (aliases included), for callers that already hold
        structured values and must not round-trip them through a quoted command line."""
        self.load()
        key = tuple(path)
        command = self._commands.get(key) or self._aliases.get(key)
        if command is None:
            raise UsageError(f"unknown command: {' '.join(path)}", self.overview(path[:1]))
        return command

    def find(self, words: Sequence[str]) -> tuple[Command, list[str]]:
        """The command whose path is the longest prefix of ``words``, and the rest."""
        self.load()
        for length in range(min(len(words), 4), 0, -1):
            key = tuple(words[:length])
            command = self._commands.get(key) or self._aliases.get(key)
            if command:
                return command, list(words[length:])
        if words and words[0] in self.groups() and words[1:2] in ([], ["-h"], ["--help"]):
            # `opencode backlog`, `opencode backlog --help`: the group's commands, exit 0
            raise HelpRequested(f"commands of {words[0]}", self.overview(words[:1]))
        raise UsageError(
            f"unknown command: {' '.join(words) or '(none)'}", self.overview(words[:1])
        )

    def parse(self, words: Sequence[str], prog: str = "opencode") -> tuple[Command, dict[str, Any]]:
        if len(words) == 2 and words[1] in ("-h", "--help") and self._group_only(words[0]):
            # `opencode mcp --help`: the group's commands, also where `opencode mcp` alone
            # is an alias of one of them
            raise HelpRequested(f"commands of {words[0]}", self.overview(words[:1]))
        command, rest = self.find(words)
        if "-h" in rest or "--help" in rest:
            raise HelpRequested(f"help for {command.name}", command.usage(prog))
        parser = command.parser(prog)
        try:
            namespace = parser.parse_args(rest)
        except argparse.ArgumentError as exc:
            # exit_on_error=False makes argparse raise (bad choice, bad int) instead of error()
            raise UsageError(f"{parser.prog}: {exc}", parser.format_help()) from exc
        values = vars(namespace)
        for arg in command.args:
            if arg.positional and arg.option:
                positional = values.pop(f"_pos_{arg.name}", None)
                if values.get(arg.name) in (None, []) and positional not in (None, []):
                    values[arg.name] = positional
                if arg.required and values.get(arg.name) in (None, []):
                    raise UsageError(
                        f"{prog} {command.name}: {arg.name} is required "
                        f"(give it as {arg.name.upper()} or {arg.option} {arg.name.upper()})",
                        command.usage(prog),
                    )
            if values.get(arg.name) is None and arg.default is not None:
                values[arg.name] = arg.default
        return command, values

    def parse_slash(self, line: str) -> tuple[Command, dict[str, Any]]:
        """Parse ``/sync run web`` (the leading slash is optional)."""
        text = line.strip()
        if text.startswith("/"):
            text = text[1:]
        try:
            words = shlex.split(text)
        except ValueError as exc:
            raise UsageError(f"cannot parse {line!r}: {exc}") from exc
        return self.parse(words, prog="")

    def _group_only(self, word: str) -> bool:
        """``word`` names a group of commands, not a command of its own."""
        return word in self.groups() and (word,) not in self._commands

    def overview(self, prefix: Sequence[str] = ()) -> str:
        lines = ["Commands:"]
        for command in self.commands():
            if prefix and command.path[: len(prefix)] != tuple(prefix):
                continue
            lines.append(f"  {command.name:<24} {command.help}")
        if len(lines) == 1:
            return self.overview()
        return "\n".join(lines)


REGISTRY = Registry()


def command(
    *path: str,
    help: str,
    args: Sequence[Arg] = (),
    description: str = "",
    aliases: Sequence[tuple[str, ...]] = (),
) -> Callable[[Handler], Handler]:
    """Decorator: declare ``handler`` as the command at ``path`` in ``REGISTRY``."""

    def decorate(handler: Handler) -> Handler:
        REGISTRY.register(
            Command(
                path=tuple(path),
                help=help,
                handler=handler,
                args=tuple(args),
                description=description,
                aliases=tuple(aliases),
            )
        )
        return handler

    return decorate


async def run_command(
    ctx: CommandContext, command: Command, values: dict[str, Any]
) -> CommandResult:
    """Call the handler, turning ``CommandError`` into a failed result (never a traceback)."""
    try:
        return await command.handler(ctx, values)
    except CommandError as exc:
        return CommandResult.failure(str(exc), hint=exc.hint, exit_code=exc.exit_code)
