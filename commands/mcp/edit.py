"""Adding and removing ``[mcp.NAME]`` tables in a project's opencode.toml with tomlkit, so
the user's comments, order and formatting survive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError
from tomlkit.toml_document import TOMLDocument

from opencode.commands.registry import CommandError


def _load(path: Path) -> TOMLDocument:
    if not path.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from exc
    except ParseError as exc:
        raise CommandError(
            f"{path}:{exc.line}:{exc.col}: invalid TOML, not changed; fix it first"
        ) from exc


def add_server(path: Path, name: str, table: dict[str, Any], *, replace: bool) -> None:
    doc = _load(path)
    servers = doc.get("mcp")
    if servers is None:
        servers = tomlkit.table(is_super_table=True)
        doc["mcp"] = servers
    elif not isinstance(servers, dict):
        raise CommandError(f"{path}: mcp is not a table; fix it by hand first")
    if name in servers and not replace:
        raise CommandError(
            f"{path} already has [mcp.{name}]",
            hint=f"remove it with `opencode mcp remove {name}`, or pass --replace",
        )
    entry = tomlkit.table()
    for key, value in table.items():
        if isinstance(value, dict):
            inline = tomlkit.inline_table()
            inline.update(value)
            entry[key] = inline
        else:
            entry[key] = value
    servers[name] = entry
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")


def remove_server(path: Path, name: str) -> bool:
    """True if ``[mcp.NAME]`` was there and is gone."""
    if not path.exists():
        return False
    doc = _load(path)
    servers = doc.get("mcp")
    if not isinstance(servers, dict) or name not in servers:
        return False
    del servers[name]
    if not servers:
        del doc["mcp"]
    # tomlkit keeps the blank line that separated the removed table: drop what trails.
    path.write_text(tomlkit.dumps(doc).rstrip() + "\n", encoding="utf-8")
    return True
