"""The MCP servers of one engine: started lazily (the first turn that offers tools), all at
once, each bounded by its own timeout; their tools offered under ``SERVER_tool`` names; all
stopped on ``aclose``.

A server that fails to start (missing program, exit, garbage, no answer within its timeout) is
reported in one line through ``warn`` and left out; the turn goes on with the other tools. It
is not retried in later turns of this engine (each retry would cost its timeout again). A
server that crashes after starting is restarted once, on the next call of one of its tools.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opencode.sessions.config import Config
from opencode.sessions.mcp.connection import McpConnection, McpServerError
from opencode.sessions.mcp.specs import ServerSpec, load_specs
from opencode.sessions.mcp.tools import McpTool, schema_tokens
from opencode.sessions.tools.base import Tool

Warn = Callable[[str], None]


def stderr_warning(line: str) -> None:
    print(f"opencode: warning: {line}", file=sys.stderr, flush=True)


@dataclass(slots=True)
class ServerStatus:
    name: str
    transport: str
    target: str
    enabled: bool
    state: str
    tools: int
    schema_tokens: int
    error: str | None


class McpManager:
    def __init__(
        self,
        specs: list[ServerSpec],
        cwd: Path,
        log_dir: Path,
        *,
        warn: Warn = stderr_warning,
        reserved: frozenset[str] = frozenset(),
    ) -> None:
        self.specs = specs
        self.warn = warn
        self.reserved = reserved  # built-in tool names an MCP tool may not take
        self.connections = {s.name: McpConnection(s, cwd, log_dir) for s in specs if s.enabled}
        self._tools: dict[str, McpTool] = {}
        self._started: asyncio.Task[None] | None = None

    @classmethod
    def from_config(
        cls,
        config: Config,
        cwd: Path,
        *,
        warn: Warn = stderr_warning,
        reserved: frozenset[str] = frozenset(),
    ) -> McpManager:
        """A bad ``.mcp.json`` or ``[mcp.*]`` table is warned about, not fatal: the session
        runs without MCP (``opencode mcp list`` shows the error)."""
        from opencode.sessions.config import ConfigError

        problems: list[str] = []
        try:
            specs = load_specs(config, cwd, problems)
        except ConfigError as exc:
            warn(f"{exc}; MCP servers are not started")
            specs = []
        for line in problems:
            warn(line)
        return cls(specs, cwd, config.data_dir / "logs", warn=warn, reserved=reserved)

    async def tools(self) -> dict[str, Tool]:
        """The MCP tools to offer, starting the servers the first time (in parallel)."""
        if self._started is None:
            self._started = asyncio.ensure_future(self._start_all())
        await asyncio.shield(self._started)
        # A crashed server's tools stay offered while a restart is left (the next call
        # restarts it); after that they are withdrawn.
        return {
            name: tool
            for name, tool in self._tools.items()
            if tool.connection.state == "ready"
            or (tool.connection.state == "crashed" and tool.connection.restarts < 1)
        }

    async def offer(self, offered: dict[str, Tool], options: dict[str, Any]) -> dict[str, Tool]:
        """``offered`` plus our tools (starting the servers on first use), filtered by the
        same ``tools`` provider option as the built-ins. ``tools = false``, or a list naming
        no MCP tool, starts nothing. Built-ins keep their names."""
        from opencode.sessions.requests import offered_tools

        wanted = options.get("tools", True)
        if wanted is False:
            return offered
        if isinstance(wanted, list) and not self.may_offer(wanted):
            return offered  # a list naming no MCP tool: no server starts for this turn
        return {**offered_tools(await self.tools(), options), **offered}

    def may_offer(self, names: list[str]) -> bool:
        """Could any of these tool names be one of our servers' tools?"""
        prefixes = tuple(f"{c.spec.prefix}_" for c in self.connections.values())
        return any(isinstance(n, str) and n.startswith(prefixes) for n in names)

    async def start(self, names: list[str] | None = None) -> None:
        """Start these servers (all when None) now, in parallel; failures are warned about."""
        chosen = [c for n, c in self.connections.items() if names is None or n in names]
        await asyncio.gather(*(self._start_one(c) for c in chosen))

    async def _start_all(self) -> None:
        await self.start()

    async def _start_one(self, connection: McpConnection) -> None:
        try:
            await connection.start()
        except McpServerError as exc:
            self.warn(f"{exc}; continuing without its tools")
            return
        name = connection.spec.name
        if connection.stray_lines:
            self.warn(
                f"MCP server {name!r} wrote {connection.stray_lines} non-protocol line(s) to "
                "stdout; they were skipped (a server must log to stderr)"
            )
        for remote in connection.tools:
            tool = McpTool.from_remote(connection, remote)
            if tool.name in self.reserved or tool.name in self._tools:
                self.warn(
                    f"MCP server {name!r}: tool {remote.name!r} is left out: its name "
                    f"{tool.name!r} is already taken"
                )
                continue
            if tool.schema_fixes:
                self.warn(
                    f"MCP server {name!r}: tool {remote.name!r} has a malformed input schema, "
                    f"repaired: {'; '.join(tool.schema_fixes[:3])}"
                )
            self._tools[tool.name] = tool

    def tools_of(self, server: str) -> list[McpTool]:
        return [t for t in self._tools.values() if t.connection.spec.name == server]

    def status(self) -> list[ServerStatus]:
        rows: list[ServerStatus] = []
        for spec in self.specs:
            connection = self.connections.get(spec.name)
            tools = self.tools_of(spec.name)
            rows.append(
                ServerStatus(
                    name=spec.name,
                    transport=spec.transport,
                    target=spec.describe(),
                    enabled=spec.enabled,
                    state=connection.state if connection else "disabled",
                    tools=len(tools),
                    schema_tokens=sum(schema_tokens(t) for t in tools),
                    error=connection.error if connection else None,
                )
            )
        return rows

    async def aclose(self) -> None:
        """Stop every server (in parallel; each bounded by the SDK's kill escalation)."""
        if self._started is not None and not self._started.done():
            self._started.cancel()
        await asyncio.gather(
            *(c.close() for c in self.connections.values()), return_exceptions=True
        )
