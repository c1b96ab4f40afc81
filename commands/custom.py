"""Custom slash commands (``sessions/custom_commands.py``) beside the registry's built-ins.

A custom command never shadows a built-in: on a name clash the built-in wins and a warning
names both (the file and the built-in command). ``find_custom`` is what ``opencode run
"/name args"`` and the TUI use to tell a custom command from a built-in one.
"""

from __future__ import annotations

from pathlib import Path

from opencode.commands.registry import REGISTRY
from opencode.sessions.custom_commands import CustomCommand, discover


def builtin_names() -> set[str]:
    """Names a ``/word`` resolves to in the registry: first words of every command path and
    alias (``sync`` of ``sync run``) and the chat's own commands when the TUI loaded them."""
    names = {command.path[0] for command in REGISTRY.commands()}
    names |= {entry.lstrip("/").split()[0] for entry, _ in REGISTRY.slash_entries()}
    return names


def load_custom(cwd: Path) -> tuple[dict[str, CustomCommand], list[str]]:
    """Usable custom commands for ``cwd`` and warnings: broken files, clashes with built-ins."""
    found = discover(cwd)
    warnings = list(found.problems)
    builtins = builtin_names()
    commands: dict[str, CustomCommand] = {}
    for name, command in found.commands.items():
        if name in builtins:
            warnings.append(
                f"custom command /{name} ({command.path}) has the name of the built-in "
                f"command /{name}; the built-in wins. Rename the file to use yours"
            )
            continue
        commands[name] = command
    return commands, warnings


def split_slash(line: str) -> tuple[str, str]:
    """``/name rest of line`` -> (``name``, ``rest of line``)."""
    text = line.strip()
    if text.startswith("/"):
        text = text[1:]
    name, _, rest = text.partition(" ")
    return name.strip(), rest.strip()


def find_custom(line: str, cwd: Path) -> tuple[CustomCommand | None, str, list[str]]:
    """The custom command a slash line names (None: not a custom command), its arguments,
    and the warnings of loading them."""
    commands, warnings = load_custom(cwd)
    name, arguments = split_slash(line)
    return commands.get(name), arguments, warnings
