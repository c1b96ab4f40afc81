"""An MCP server's tool as one of ours: a provider-safe ``SERVER_tool`` name, a cleaned input
schema, an ``McpSubject`` for the permission rules, and ``run`` through its connection."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opencode.sessions.mcp.connection import McpConnection, RemoteTool
from opencode.sessions.mcp.results import result_text
from opencode.sessions.mcp.schema import clean_schema
from opencode.sessions.mcp.specs import safe_name
from opencode.sessions.tools.base import ToolContext, ToolResult
from opencode.sessions.tools.permissions import McpSubject

MAX_NAME = 64
MAX_DESCRIPTION = 2000


def tool_name(server_prefix: str, remote: str) -> str:
    """``SERVER_tool`` in ``[a-zA-Z0-9_-]{1,64}``; too long: cut, with a short hash of the
    whole so two long names stay apart."""
    name = f"{server_prefix}_{safe_name(remote)}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9]}_{digest}"


@dataclass(slots=True)
class McpTool:
    name: str
    description: str
    parameters: dict[str, Any]
    remote: str
    connection: McpConnection
    schema_fixes: list[str] = field(default_factory=list)
    # Unknown argument keys reach the server, which validates them against its own schema
    # (registry.parse_arguments would otherwise drop keys our cleaned schema no longer names).
    keeps_unknown_arguments: bool = True

    @classmethod
    def from_remote(cls, connection: McpConnection, remote: RemoteTool) -> McpTool:
        parameters, fixes = clean_schema(remote.schema)
        server = connection.spec.name
        description = (remote.description or remote.name).strip()[:MAX_DESCRIPTION]
        return cls(
            name=tool_name(connection.spec.prefix, remote.name),
            description=f"[MCP {server}] {description}",
            parameters=parameters,
            remote=remote.name,
            connection=connection,
            schema_fixes=fixes,
        )

    def permission_subject(self, args: dict[str, Any], cwd: Path) -> McpSubject:
        server = self.connection.spec.name
        return McpSubject(subject=f"{server}/{self.remote}", server=server, tool=self.remote)

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        outcome = await self.connection.call(self.remote, args, ctx.cancel)
        secrets = self.connection.spec.secrets()
        meta: dict[str, Any] = {"mcp_server": self.connection.spec.name, "mcp_tool": self.remote}
        if outcome.error is not None:
            from opencode.sessions.secrets import scrub

            return ToolResult(scrub(outcome.error, secrets), is_error=True, metadata=meta)
        text, extra = result_text(outcome.result, secrets)
        return ToolResult(
            text,
            is_error=bool(getattr(outcome.result, "is_error", False)),
            metadata={**meta, **extra},
        )


def schema_tokens(tool: McpTool) -> int:
    """What the tool adds to every request, estimated at 4 characters a token."""
    text = json.dumps(
        {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
    )
    return (len(text) + 3) // 4
