"""MCP prompts as slash commands: ``/SERVER:PROMPT args`` expands the server's prompt and the
text is sent as the user's message (``opencode run "/time:convert ..."`` and in chat).

Arguments: ``KEY=VALUE`` words fill the prompt's arguments by name; otherwise words fill them
in declared order (a prompt with one argument takes the whole rest of the line, and extra words
go to the last one). A missing required argument is a usage error naming it. Each expansion
starts the one server it needs and stops it afterwards, as ``opencode mcp prompt`` does.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opencode.commands.registry import CommandError

if TYPE_CHECKING:
    from opencode.sessions.config import Config

_CALL = re.compile(r"^/([A-Za-z0-9_-]{1,48}):(\S+)(?:\s+(.*))?$", re.S)


@dataclass(frozen=True, slots=True)
class PromptCall:
    server: str
    prompt: str
    words: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"/{self.server}:{self.prompt}"


def parse(message: str) -> PromptCall | None:
    """``/SERVER:PROMPT args`` -> its parts; None for any other line."""
    match = _CALL.match(message.strip())
    if match is None:
        return None
    rest = match.group(3) or ""
    try:
        words = shlex.split(rest)
    except ValueError:  # an unbalanced quote: take the words as typed
        words = rest.split()
    return PromptCall(match.group(1), match.group(2), tuple(words))


def prompt_arguments(
    declared: list[tuple[str, bool]], words: list[str] | tuple[str, ...], label: str
) -> dict[str, str]:
    """The prompt's arguments from the words after its name (see the module docstring)."""
    names = [name for name, _ in declared]
    values: dict[str, str] = {}
    if words and all(w.partition("=")[0] in names and "=" in w for w in words):
        values = {k: v for k, _, v in (w.partition("=") for w in words)}
    elif words and names:
        head = list(words[: len(names) - 1])
        values = dict(zip(names, head, strict=False))
        tail = words[len(names) - 1 :]
        if tail:
            values[names[len(head)]] = " ".join(tail)
    elif words:
        raise CommandError(f"{label} takes no arguments, got {' '.join(words)!r}", exit_code=2)
    missing = [name for name, required in declared if required and name not in values]
    if missing:
        usage = " ".join(f"{n}=..." for n in names)
        raise CommandError(
            f"{label} needs {', '.join(missing)}", hint=f"{label} {usage}", exit_code=2
        )
    return values


def server_names(config: Config, cwd: Path) -> set[str]:
    """Configured MCP server names (cheap: no server is started)."""
    from opencode.sessions.config import ConfigError
    from opencode.sessions.mcp.specs import has_servers, load_specs

    if not has_servers(config, cwd):
        return set()
    try:
        return {s.name for s in load_specs(config, cwd) if s.enabled}
    except ConfigError:
        return set()


async def expand(config: Config, cwd: Path, call: PromptCall) -> str:
    """Start ``call.server``, get the prompt's text, stop it. Raises CommandError."""
    from opencode.sessions.mcp.connection import McpServerError

    manager = _manager(config, cwd)
    if call.server not in manager.connections:
        raise CommandError(f"{call.name}: no enabled MCP server {call.server!r}")
    try:
        await manager.start([call.server])
        connection = manager.connections[call.server]
        if connection.state != "ready":
            raise CommandError(
                f"{call.name}: {connection.error or f'MCP server {call.server!r} did not start'}"
            )
        known = {p.name: p for p in connection.prompts}
        if call.prompt not in known:
            raise CommandError(
                f"MCP server {call.server!r} has no prompt {call.prompt!r}; it has: "
                f"{', '.join(sorted(known)) or '(none)'}",
                exit_code=2,
            )
        values = prompt_arguments(known[call.prompt].arguments, call.words, call.name)
        try:
            return str(await connection.get_prompt(call.prompt, values))
        except McpServerError as exc:
            raise CommandError(f"{call.name}: {exc}") from exc
    finally:
        await manager.aclose()


async def list_prompts(config: Config, cwd: Path) -> list[tuple[str, str, list[str]]]:
    """(``/SERVER:PROMPT``, description, argument names) of every server's prompts: starts
    them all in parallel, then stops them (for completion)."""
    manager = _manager(config, cwd)
    try:
        await manager.start()
        found = []
        for name, connection in sorted(manager.connections.items()):
            if connection.state != "ready":
                continue
            for prompt in connection.prompts:
                args = [a for a, _ in prompt.arguments]
                found.append((f"/{name}:{prompt.name}", prompt.description, args))
        return found
    finally:
        await manager.aclose()


def _manager(config: Config, cwd: Path) -> Any:
    from opencode.sessions.config import ConfigError
    from opencode.sessions.mcp.manager import McpManager
    from opencode.sessions.mcp.specs import load_specs

    try:
        specs = load_specs(config, cwd)
    except ConfigError as exc:
        raise CommandError(str(exc), exit_code=2) from exc
    return McpManager(specs, cwd, config.data_dir / "logs", warn=lambda line: None)
