"""Which MCP servers are configured: ``[mcp.NAME]`` tables in opencode.toml and the
``mcpServers`` object of a ``.mcp.json`` in the project root (the file Claude Code reads).

Accepted shapes, so existing files work unchanged:

- opencode.toml ``[mcp.NAME]``: ``command = "..."`` (or a list: program and arguments, as
  opencode's JSON config writes it), ``args``, ``env`` (alias ``environment``), or ``url`` and
  ``headers``; ``type`` (``stdio``/``local``, ``http``/``remote``/``streamable-http``),
  ``enabled``, ``timeout`` (seconds, for start-up and for each call; default 30).
- ``.mcp.json``: ``{"mcpServers": {"NAME": {"command", "args", "env"} | {"type": "http",
  "url", "headers"}}}``. Values may use ``{env:VAR}`` like opencode.toml, or Claude Code's
  ``${VAR}`` / ``${VAR:-default}``.

A server named in both is taken from opencode.toml. Env values and headers are secrets: their
variables join the secret set and their values are scrubbed from results and messages.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from opencode.sessions.config import Config, ConfigError, substitute_values

DEFAULT_TIMEOUT_S = 30.0
MCP_JSON = ".mcp.json"
SERVER_KEYS = {
    "type",
    "command",
    "args",
    "env",
    "environment",
    "url",
    "headers",
    "enabled",
    "timeout",
    "cwd",
}
_STDIO_TYPES = {"stdio", "local"}
_HTTP_TYPES = {"http", "remote", "streamable-http", "streamable_http"}
_SAFE = re.compile(r"[^a-zA-Z0-9_-]")
_CLAUDE_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")

Transport = Literal["stdio", "http"]


@dataclass(frozen=True, slots=True)
class ServerSpec:
    name: str  # as configured
    transport: Transport
    source: str  # where it was configured, for messages
    command: str = ""
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    enabled: bool = True
    timeout: float = DEFAULT_TIMEOUT_S
    cwd: str | None = None

    @property
    def prefix(self) -> str:
        """The provider-safe form of the name that prefixes its tools."""
        return safe_name(self.name)

    def secrets(self) -> list[str]:
        """Values that must never reach the store, a log or a message."""
        return [v for v in (*self.env.values(), *self.headers.values()) if v]

    def describe(self) -> str:
        """The command line or URL, secrets scrubbed, for listings and messages."""
        from opencode.sessions.secrets import scrub

        if self.transport == "http":
            return scrub(self.url, self.secrets())
        return scrub(" ".join((self.command, *self.args)), self.secrets())


def safe_name(name: str) -> str:
    return _SAFE.sub("_", name) or "_"


def load_specs(config: Config, cwd: Path, warnings: list[str] | None = None) -> list[ServerSpec]:
    """Every configured server (enabled or not), opencode.toml first. Raises ConfigError;
    keys nothing reads (a typo such as ``comand``) are added to ``warnings``."""
    specs: dict[str, ServerSpec] = {}
    path = cwd / MCP_JSON
    if path.is_file() and _project_trusted(config, cwd):
        for spec in _from_mcp_json(path):
            specs[spec.name] = spec
    table = config.section("mcp")
    source = ", ".join(str(p) for p in config.sources) or "opencode.toml"
    for name, value in table.items():
        if not isinstance(value, dict):
            raise ConfigError(
                f"{source}: [mcp.{name}] must be a table with command = ... or url = ..."
            )
        specs[name] = _spec(name, value, f"[mcp.{name}] in {source}")
        _unknown_keys(value, f"[mcp.{name}] in {source}", warnings)
    return list(specs.values())


def _unknown_keys(table: dict[str, Any], where: str, warnings: list[str] | None) -> None:
    import difflib

    for key in table:
        if key not in SERVER_KEYS and warnings is not None:
            close = difflib.get_close_matches(key, sorted(SERVER_KEYS), n=1)
            advice = (
                f"did you mean {close[0]!r}?"
                if close
                else f"known: {', '.join(sorted(SERVER_KEYS))}"
            )
            warnings.append(f"{where}: unknown key {key!r} is ignored; {advice}")


def has_servers(config: Config, cwd: Path) -> bool:
    """Cheap: is any MCP server configured here (no parsing beyond a file check)?"""
    project = (cwd / MCP_JSON).is_file() and _project_trusted(config, cwd)
    return bool(config.section("mcp")) or project


def _project_trusted(config: Config, cwd: Path) -> bool:
    """Whether the project's own ``.mcp.json`` may start servers (sessions/trust.py); when
    not, say so (once)."""
    from opencode.sessions.trust import ignore, of_config

    state = of_config(config.trust, cwd)
    if not state.trusted:
        ignore(state, f"MCP servers in {cwd / MCP_JSON}")
    return state.trusted


def _from_mcp_json(path: Path) -> list[ServerSpec]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}; fix the syntax there"
        ) from exc
    servers = data.get("mcpServers", {}) if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise ConfigError(f'{path}: expected {{"mcpServers": {{"NAME": {{...}}}}}}')
    found: list[ServerSpec] = []
    for name, value in servers.items():
        where = f"{path} mcpServers.{name}"
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected an object with command or url")
        value = _claude_vars(value)
        substitute_values(value, path, ("mcp", str(name)))
        found.append(_spec(str(name), value, where))
    return found


def _claude_vars(node: Any) -> Any:
    """Claude Code's ``${VAR}`` / ``${VAR:-default}`` written as opencode's ``{env:...}``."""
    if isinstance(node, dict):
        return {k: _claude_vars(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_claude_vars(v) for v in node]
    if isinstance(node, str) and "${" in node:
        return _CLAUDE_VAR.sub(lambda m: "{env:" + m.group(1) + (m.group(2) or "") + "}", node)
    return node


def _spec(name: str, table: dict[str, Any], where: str) -> ServerSpec:
    def fail(key: str, expected: str, got: Any) -> ConfigError:
        shown = "(hidden)" if key in ("env", "environment", "headers") else repr(got)
        return ConfigError(f"{where}: key {key}: expected {expected}, got {shown}")

    kind = table.get("type")
    command = table.get("command")
    url = table.get("url")
    if kind is not None and kind not in _STDIO_TYPES | _HTTP_TYPES:
        if kind == "sse":
            raise fail("type", "stdio or http (the old SSE transport is not supported)", kind)
        raise fail("type", "stdio, local, http or remote", kind)
    transport: Transport
    if kind in _HTTP_TYPES or (kind is None and url is not None and command is None):
        transport = "http"
    else:
        transport = "stdio"
    args: list[str] = []
    if transport == "stdio":
        if isinstance(command, list) and command and all(isinstance(c, str) for c in command):
            command, args = command[0], list(command[1:])
        if not isinstance(command, str) or not command.strip():
            raise fail("command", "the server's program (a string), or url = ... for HTTP", command)
        extra = table.get("args", [])
        if not isinstance(extra, list) or not all(isinstance(a, str) for a in extra):
            raise fail("args", "a list of strings", extra)
        args += extra
    elif not isinstance(url, str) or not re.match(r"^https?://", url):
        raise fail("url", "an http:// or https:// URL", url)
    env = table.get("env", table.get("environment", {}))
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise fail("env", "a table of string values", env)
    headers = table.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise fail("headers", "a table of string values", headers)
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise fail("enabled", "true or false", enabled)
    timeout = table.get("timeout", DEFAULT_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise fail("timeout", "a positive number of seconds", timeout)
    cwd = table.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise fail("cwd", "a directory path", cwd)
    return ServerSpec(
        name=name,
        transport=transport,
        source=where,
        command=command if isinstance(command, str) else "",
        args=tuple(args),
        env={str(k): v for k, v in env.items()},
        url=url if isinstance(url, str) else "",
        headers={str(k): v for k, v in headers.items()},
        enabled=enabled,
        timeout=float(timeout),
        cwd=cwd,
    )
