"""Custom slash commands: markdown files whose body becomes the user message.

Found in (later wins on a name): ``~/.claude/commands/``, ``$XDG_CONFIG_HOME/opencode/commands/``
(``~/.config/opencode/commands/``), then for each folder from the git root down to the working
directory ``.claude/commands/`` and ``.opencode/commands/``. The name is the file's stem;
a file in a subfolder is ``folder:name``. Optional frontmatter (``---`` lines) holds
``description``, ``model``, ``allowed-tools`` and ``argument-hint``, as Claude Code writes it.

Expansion: ``$ARGUMENTS`` (the whole argument string) and ``$1``..``$9`` (shell-split words);
``!`cmd` `` is replaced by the command's output, run by the bash tool (its permission rules,
deny first, and its sandbox; never a bare subprocess); ``@path`` appends that file (read
permission checked, size bounded). A problem names the file and line and what to do.
Both outputs pass through ``secrets.scrub`` (secret environment values, the config's literal
keys, URL passwords) before they join the message: like a tool result, they go to the model,
the store and exports.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opencode.sessions.instructions import git_root
from opencode.sessions.secrets import scrub

if TYPE_CHECKING:
    from opencode.sessions.permissions_api import PermissionAsker, PermissionPolicy

MAX_FILE_BYTES = 256 * 1024
MAX_INCLUDE_BYTES = 256 * 1024
SHELL_TIMEOUT_S = 30
FRONTMATTER_KEYS = ("description", "model", "allowed-tools", "argument-hint")
_SHELL = re.compile(r"!`([^`\n]+)`")
_FILE = re.compile(r"(?<![\w`@])@(~?[\w.\-/]*[./][\w.\-/]*)")
_POSITIONAL = re.compile(r"\$([1-9])")
_CLAUDE_TOOLS = {"ls": "list", "multiedit": "edit", "notebookedit": "edit"}


class CommandFileError(Exception):
    """A command file that cannot be used: ``path:line: what; what to do``."""


class ExpansionError(Exception):
    """A command could not be expanded (a denied ``!`cmd` ``, an unreadable ``@file``)."""


@dataclass(frozen=True, slots=True)
class CustomCommand:
    name: str
    path: Path
    body: str
    description: str = ""
    model: str | None = None
    allowed_tools: tuple[str, ...] = ()  # as written (``Bash(git status:*)``, ``Read``)
    argument_hint: str = ""
    scope: str = "project"  # or "global"

    @property
    def tools(self) -> list[str] | None:
        """Our tool names for ``allowed-tools`` (None: not limited)."""
        if not self.allowed_tools:
            return None
        names: list[str] = []
        for item in self.allowed_tools:
            name = item.split("(", 1)[0].strip().lower()
            name = _CLAUDE_TOOLS.get(name, name)
            if name and name not in names:
                names.append(name)
        return names


@dataclass(slots=True)
class Discovery:
    commands: dict[str, CustomCommand] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def command_dirs(cwd: Path) -> list[tuple[Path, str]]:
    """Folders to search, lowest precedence first, with their scope."""
    import os

    home = Path.home()
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    dirs: list[tuple[Path, str]] = [
        (home / ".claude" / "commands", "global"),
        (config / "opencode" / "commands", "global"),
    ]
    cwd = cwd.resolve()
    root = git_root(cwd) or cwd
    folders = [cwd, *cwd.parents]
    chain = list(reversed(folders[: folders.index(root) + 1])) if root in folders else [cwd]
    for folder in chain:
        dirs.append((folder / ".claude" / "commands", "project"))
        dirs.append((folder / ".opencode" / "commands", "project"))
    return dirs


def discover(cwd: Path) -> Discovery:
    """Every custom command for ``cwd``; broken files are listed in ``problems``, not fatal."""
    found = Discovery()
    for folder, scope in command_dirs(cwd):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.md")):
            rel = path.relative_to(folder).with_suffix("")
            name = ":".join(rel.parts)
            if not re.fullmatch(r"[\w.:\-]+", name):
                found.problems.append(
                    f"{path}: command name {name!r} has characters a slash command cannot "
                    "hold; rename the file (letters, digits, - _ .)"
                )
                continue
            try:
                found.commands[name] = parse_command_file(path, name, scope)
            except CommandFileError as exc:
                found.problems.append(str(exc))
    return found


def parse_command_file(path: Path, name: str, scope: str = "project") -> CustomCommand:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CommandFileError(
                f"{path}:1: command file is {size:,} bytes (at most {MAX_FILE_BYTES:,}); shorten it"
            )
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CommandFileError(f"{path}:1: not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise CommandFileError(f"{path}:1: cannot read: {exc.strerror or exc}") from exc
    meta, body = parse_frontmatter(text, path)
    tools = meta.get("allowed-tools", ())
    if isinstance(tools, str):
        tools = tuple(t.strip() for t in _split_tools(tools) if t.strip())
    return CustomCommand(
        name=name,
        path=path,
        body=body,
        description=str(meta.get("description", "") or ""),
        model=str(meta["model"]) if meta.get("model") else None,
        allowed_tools=tuple(tools),
        argument_hint=str(meta.get("argument-hint", "") or ""),
        scope=scope,
    )


def _split_tools(text: str) -> list[str]:
    """``Bash(git add:*), Read`` -> two items (commas inside parentheses stay)."""
    items: list[str] = []
    depth, current = 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
            continue
        current += char
    items.append(current)
    return items


def parse_frontmatter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    """The ``---`` block's ``key: value`` lines (values: strings, ``[a, b]`` or ``- item``
    lists) and the body after it. Bad lines raise ``CommandFileError`` with their line."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise CommandFileError(
            f"{path}:1: frontmatter opened with --- is never closed; add a line with --- "
            "after the last key"
        )
    meta: dict[str, Any] = {}
    last: str | None = None
    for index in range(1, end):
        raw = lines[index]
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("- ") and last is not None:
            current = meta.get(last)
            items = list(current) if isinstance(current, tuple) else []
            meta[last] = (*items, _scalar(line[2:]))
            continue
        key, sep, value = line.partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z][\w\-]*", key.strip()):
            raise CommandFileError(
                f"{path}:{index + 1}: frontmatter line {raw.strip()!r} is not `key: value`; "
                f"keys: {', '.join(FRONTMATTER_KEYS)}"
            )
        key, value = key.strip(), value.strip()
        if key == "argument-hint":  # "[file] [focus]" is a hint, not a list
            meta[key] = value
            last = key
            continue
        if value.startswith("[") and not value.endswith("]"):
            raise CommandFileError(
                f"{path}:{index + 1}: list for {key!r} is not closed with ]; write it on one "
                "line, e.g. [Bash, Read]"
            )
        if value.startswith("["):
            meta[key] = tuple(_scalar(v) for v in _split_tools(value[1:-1]) if v.strip())
        else:
            meta[key] = _scalar(value) if value else ()
        last = key
    body = "\n".join(lines[end + 1 :])
    return meta, body + ("\n" if text.endswith("\n") and body else "")


def _scalar(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


# ---------------------------------------------------------------------- expansion

# Runs one bash command line the way the bash tool does (permission then sandbox); returns the
# output, or raises ExpansionError saying why it did not run.
ShellRunner = Callable[[str], Awaitable[str]]
# Reads a file the ``@path`` names (read permission checked); raises ExpansionError.
FileReader = Callable[[Path], Awaitable[str]]


def substitute_arguments(body: str, arguments: str) -> str:
    """``$ARGUMENTS`` and ``$1``..``$9``; with neither in the body, the arguments are
    appended (so ``/review src/`` is not silently dropped)."""
    try:
        words = shlex.split(arguments)
    except ValueError:
        words = arguments.split()
    has_placeholder = "$ARGUMENTS" in body or bool(_POSITIONAL.search(body))
    text = body.replace("$ARGUMENTS", arguments)
    text = _POSITIONAL.sub(
        lambda m: words[int(m.group(1)) - 1] if int(m.group(1)) <= len(words) else "", text
    )
    if not has_placeholder and arguments.strip():
        text = f"{text.rstrip()}\n\nARGUMENTS: {arguments}"
    return text


async def expand(
    command: CustomCommand,
    arguments: str,
    cwd: Path,
    run_shell: ShellRunner,
    read_file: FileReader,
) -> str:
    """The user message ``command`` stands for with ``arguments``."""
    text = substitute_arguments(command.body, arguments)
    # Files are named by the command and its arguments only: a path in a shell command's
    # output must not pull a file into the message.
    named = _SHELL.sub("", text)
    tokens = list(dict.fromkeys(m.group(1).rstrip(".,;:)") for m in _FILE.finditer(named)))
    parts: list[str] = []
    last = 0
    for match in _SHELL.finditer(text):
        parts.append(text[last : match.start()])
        parts.append((await run_shell(match.group(1))).rstrip("\n"))
        last = match.end()
    parts.append(text[last:])
    text = "".join(parts)
    attached: list[str] = []
    for token in tokens:
        path = Path(token).expanduser()
        if not path.is_absolute():
            path = cwd / path
        if not path.is_file():
            continue  # "@someone" or a path that is not a file: left as written
        attached.append(f"Contents of {token}:\n```\n{(await read_file(path)).rstrip()}\n```")
    if attached:
        text = text.rstrip() + "\n\n" + "\n\n".join(attached)
    return text.strip() + "\n"


def tool_runners(
    permissions: PermissionPolicy,
    asker: PermissionAsker | None,
    cwd: Path,
    session_id: str,
    allowed_tools: list[str] | None = None,
    secrets: Iterable[str] = (),
) -> tuple[ShellRunner, FileReader]:
    """``!`cmd` `` and ``@file`` through the tools' permission path: a deny rule always holds;
    an "ask" goes to ``asker`` (refused when there is none) unless the command's
    ``allowed-tools`` names the tool; bash runs in the bash tool's sandbox. What they return is
    scrubbed of secrets (the environment's and ``secrets``: ``Config.literal_secrets()``)."""
    from opencode.sessions.ids import new_id
    from opencode.sessions.permissions_api import PermissionRequest, PermissionRequired
    from opencode.sessions.tools.base import PermissionSubject, ToolContext
    from opencode.sessions.tools.files import ReadTool
    from opencode.sessions.tools.shell import BashTool

    pre_approved = set(allowed_tools or ())
    literal = tuple(secrets)

    async def permit(tool: str, subject: PermissionSubject, what: str, args: dict[str, Any]) -> str:
        decision = permissions.decide(tool, subject)
        explain = getattr(permissions, "explain", None)
        reason = explain(tool, subject)[1] if callable(explain) else "config"
        if decision == "deny":
            raise ExpansionError(f"{what} is denied by a permission rule ({reason})")
        if decision == "ask" and tool not in pre_approved:
            if asker is None:
                raise ExpansionError(
                    f"{what} needs permission ({reason}) and nobody can be asked here; "
                    f"allow it in [permission] or list {tool} in the command's allowed-tools"
                )
            request = PermissionRequest(session_id, new_id("cmd"), tool, subject.subject, args)
            try:
                answer = await asker(request)
            except PermissionRequired as exc:
                raise ExpansionError(f"{what}: {exc}") from exc
            if answer == "deny":
                raise ExpansionError(f"{what} was not allowed")
        return reason

    async def noop(path: Path, before: bytes | None) -> None:
        return None

    async def run_shell(command: str) -> str:
        # The sandbox the permission decision assumed (the session's), not the defaults.
        bash = BashTool(getattr(permissions, "sandbox", None))
        args: dict[str, Any] = {"command": command, "timeout": SHELL_TIMEOUT_S}
        await permit("bash", bash.permission_subject(args, cwd), f"!`{command}`", args)
        ctx = ToolContext(cwd=cwd, session_id=session_id, call_id=new_id("cmd"), record_change=noop)
        result = await bash.run(args, ctx)
        output = result.output
        if result.metadata.get("exit_code") == 0:
            output = re.sub(r"\n?\[exit code 0\]\s*$", "", output)
        return scrub(output, extra=literal)

    async def read_file(path: Path) -> str:
        read = ReadTool()
        args: dict[str, Any] = {"path": str(path)}
        await permit("read", read.permission_subject(args, cwd), f"@{path}", args)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_INCLUDE_BYTES + 1)
        except OSError as exc:
            raise ExpansionError(f"@{path} cannot be read: {exc.strerror or exc}") from exc
        text = data[:MAX_INCLUDE_BYTES].decode("utf-8", errors="replace")
        if len(data) > MAX_INCLUDE_BYTES:
            text += f"\n[opencode: cut at {MAX_INCLUDE_BYTES:,} bytes]"
        return scrub(text, extra=literal)

    return run_shell, read_file
