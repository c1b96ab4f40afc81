"""``opencode mcp ...`` and ``/mcp``: the configured MCP servers, their status and tools,
adding and removing them in opencode.toml, and their resources.

``list``, ``tools`` and ``resources`` start the servers they report on (in parallel, each
bounded by its ``timeout``) and stop them before returning.
"""

from __future__ import annotations

import re
from typing import Any

from opencode.commands.registry import (
    Arg,
    CommandContext,
    CommandError,
    CommandResult,
    Table,
    command,
)

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,48}$")


def _manager(ctx: CommandContext, warnings: list[str]) -> Any:
    from opencode.sessions.config import ConfigError
    from opencode.sessions.mcp.manager import McpManager
    from opencode.sessions.mcp.specs import load_specs

    try:
        specs = load_specs(ctx.config, ctx.cwd, warnings)
    except ConfigError as exc:
        raise CommandError(str(exc)) from exc
    return McpManager(specs, ctx.cwd, ctx.config.data_dir / "logs", warn=warnings.append)


@command(
    "mcp",
    "list",
    help="MCP servers: where configured, status, tool count, schema tokens",
    aliases=[("mcp",)],
)
async def mcp_list(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    warnings: list[str] = []
    manager = _manager(ctx, warnings)
    if not manager.specs:
        return CommandResult(
            data={"servers": []},
            text="No MCP servers configured. Add one with `opencode mcp add NAME -- COMMAND "
            "ARGS...` or `opencode mcp add NAME --url URL`, or put a .mcp.json here.",
        )
    try:
        await manager.start()
        rows = manager.status()
    finally:
        await manager.aclose()
    data = [
        {
            "name": r.name,
            "transport": r.transport,
            "target": r.target,
            "enabled": r.enabled,
            "status": r.state if r.state != "stopped" else "ok",
            "tools": r.tools,
            "schema_tokens": r.schema_tokens,
            "error": r.error,
            "source": next(s.source for s in manager.specs if s.name == r.name),
        }
        for r in rows
    ]
    table = Table(
        ["server", "transport", "status", "tools", "~tokens", "command / url"],
        [
            [d["name"], d["transport"], d["status"], d["tools"], d["schema_tokens"], d["target"]]
            for d in data
        ],
    )
    return CommandResult(
        data={"servers": data, "warnings": warnings},
        text="\n".join(warnings) or None,
        tables=[table],
    )


@command(
    "mcp",
    "tools",
    help="an MCP server's tools: name, description, schema token estimate",
    args=[Arg("name", positional=True, required=True, help="the server's name")],
)
async def mcp_tools(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.mcp.tools import schema_tokens

    warnings: list[str] = []
    manager = _manager(ctx, warnings)
    name = args["name"]
    _known(manager, name)
    try:
        await _started(manager, name)
        tools = manager.tools_of(name)
    finally:
        await manager.aclose()
    data = [
        {
            "name": t.name,
            "remote": t.remote,
            "description": t.description,
            "schema_tokens": schema_tokens(t),
            "schema_fixes": t.schema_fixes,
        }
        for t in tools
    ]
    rows = [[d["name"], d["schema_tokens"], _first_line(d["description"])] for d in data]
    total = sum(d["schema_tokens"] for d in data)
    return CommandResult(
        data={"server": name, "tools": data, "schema_tokens": total, "warnings": warnings},
        text=f"{len(data)} tools, about {total} tokens of schema per request"
        + "".join(f"\n{w}" for w in warnings),
        tables=[Table(["tool", "~tokens", "description"], rows, title=name)],
    )


@command(
    "mcp",
    "resources",
    help="an MCP server's resources (uri, name, description)",
    args=[Arg("name", positional=True, required=True, help="the server's name")],
)
async def mcp_resources(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.mcp.connection import McpServerError

    warnings: list[str] = []
    manager = _manager(ctx, warnings)
    name = args["name"]
    _known(manager, name)
    try:
        connection = await _started(manager, name)
        try:
            found = await connection.list_resources()
        except McpServerError as exc:
            raise CommandError(str(exc)) from exc
    finally:
        await manager.aclose()
    data = [{"uri": u, "name": n, "description": d} for u, n, d in found]
    return CommandResult(
        data={"server": name, "resources": data},
        tables=[Table(["uri", "name", "description"], [[u, n, d] for u, n, d in found])],
        text=None if found else f"MCP server {name!r} lists no resources",
    )


@command(
    "mcp",
    "prompts",
    help="an MCP server's prompts and their arguments",
    args=[Arg("name", positional=True, required=True, help="the server's name")],
)
async def mcp_prompts(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    warnings: list[str] = []
    manager = _manager(ctx, warnings)
    name = args["name"]
    _known(manager, name)
    try:
        connection = await _started(manager, name)
        prompts = list(connection.prompts)
    finally:
        await manager.aclose()
    data = [
        {
            "name": p.name,
            "description": p.description,
            "arguments": [{"name": a, "required": r} for a, r in p.arguments],
        }
        for p in prompts
    ]
    rows = [
        [p.name, " ".join(a if r else f"[{a}]" for a, r in p.arguments), _first_line(p.description)]
        for p in prompts
    ]
    return CommandResult(
        data={"server": name, "prompts": data},
        tables=[Table(["prompt", "arguments", "description"], rows, title=name)],
        text=None if prompts else f"MCP server {name!r} offers no prompts",
    )


@command(
    "mcp",
    "prompt",
    help="an MCP prompt's text, with KEY=VALUE arguments (to send as a message)",
    description="prints the prompt's text: opencode run \"$(opencode mcp prompt SERVER PROMPT "
    'topic=x)" sends it to the model',
    args=[
        Arg("name", positional=True, required=True, help="the server's name"),
        Arg("prompt", positional=True, required=True, help="the prompt's name"),
        Arg("arguments", positional=True, multiple=True, help="KEY=VALUE arguments"),
    ],
)
async def mcp_prompt(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.mcp.connection import McpServerError

    warnings: list[str] = []
    manager = _manager(ctx, warnings)
    name, prompt = args["name"], args["prompt"]
    _known(manager, name)
    values = _pairs(args.get("arguments"), "argument")
    try:
        connection = await _started(manager, name)
        known = {p.name: p for p in connection.prompts}
        if prompt not in known:
            raise CommandError(
                f"MCP server {name!r} has no prompt {prompt!r}; it has: "
                f"{', '.join(sorted(known)) or '(none)'}"
            )
        missing = [a for a, required in known[prompt].arguments if required and a not in values]
        if missing:
            raise CommandError(
                f"prompt {prompt!r} needs {', '.join(f'{a}=...' for a in missing)}",
                exit_code=2,
            )
        try:
            text = await connection.get_prompt(prompt, values)
        except McpServerError as exc:
            raise CommandError(str(exc)) from exc
    finally:
        await manager.aclose()
    return CommandResult(data={"server": name, "prompt": prompt, "text": text}, text=text)


async def _started(manager: Any, name: str) -> Any:
    await manager.start([name])
    connection = manager.connections[name]
    if connection.state != "ready":
        raise CommandError(connection.error or f"MCP server {name!r} did not start")
    return connection


@command(
    "mcp",
    "add",
    help="add an MCP server to ./opencode.toml (comments kept)",
    description="a stdio server: opencode mcp add [--env K=V] [--timeout S] NAME -- COMMAND "
    "[ARGS...] (options before NAME), or --command 'COMMAND ARGS'; a streamable-HTTP server: "
    "opencode mcp add NAME --url URL [--header K=V]",
    args=[
        Arg("name", positional=True, required=True, help="the server's name (prefixes its tools)"),
        Arg("argv", positional=True, multiple=True, help="the command and its arguments, after --"),
        Arg("command", option="--command", help="the command line, as one string"),
        Arg("url", option="--url", help="a streamable-HTTP server's URL"),
        Arg("env", option="--env", multiple=True, help="KEY=VALUE for the server (or {env:VAR})"),
        Arg("header", option="--header", multiple=True, help="KEY=VALUE HTTP header"),
        Arg("timeout", option="--timeout", type=float, help="seconds for start-up and each call"),
        Arg("replace", option="--replace", flag=True, help="replace a server of that name"),
    ],
)
async def mcp_add(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    import shlex

    from opencode.commands.mcp.edit import add_server

    name = args["name"]
    if not _NAME.match(name):
        raise CommandError(
            f"server name {name!r} must be letters, digits, _ or - (1-48 characters): it "
            "becomes the prefix of its tools' names"
        )
    argv: list[str] = list(args.get("argv") or [])
    if args.get("command"):
        argv = shlex.split(args["command"]) + argv
    url = args.get("url")
    if bool(argv) == bool(url):
        raise CommandError(
            "give either a command (`opencode mcp add NAME -- COMMAND ARGS...`) or --url URL"
        )
    table: dict[str, Any] = {}
    if url:
        if not re.match(r"^https?://", url):
            raise CommandError(f"--url {url!r} must start with http:// or https://")
        table["url"] = url
        headers = _pairs(args.get("header"), "--header")
        if headers:
            table["headers"] = headers
    else:
        table["command"] = argv[0]
        if argv[1:]:
            table["args"] = argv[1:]
    env = _pairs(args.get("env"), "--env")
    if env:
        table["env"] = env
    if args.get("timeout") is not None:
        if args["timeout"] <= 0:
            raise CommandError("--timeout must be a positive number of seconds")
        table["timeout"] = args["timeout"]
    path = ctx.cwd / "opencode.toml"
    add_server(path, name, table, replace=bool(args.get("replace")))
    target = url or shlex.join(argv)
    return CommandResult(
        data={"added": name, "path": str(path), **table},
        text=f"added MCP server {name!r} ({target}) to {path}; check it with "
        f"`opencode mcp tools {name}`",
    )


@command(
    "mcp",
    "remove",
    help="remove an MCP server from ./opencode.toml (comments kept)",
    args=[Arg("name", positional=True, required=True, help="the server's name")],
)
async def mcp_remove(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.mcp.edit import remove_server
    from opencode.sessions.mcp.specs import MCP_JSON

    name = args["name"]
    path = ctx.cwd / "opencode.toml"
    if remove_server(path, name):
        return CommandResult(
            data={"removed": name, "path": str(path)},
            text=f"removed MCP server {name!r} from {path}",
        )
    hint = None
    if (ctx.cwd / MCP_JSON).is_file() and name in (ctx.cwd / MCP_JSON).read_text("utf-8"):
        hint = f"it may come from {ctx.cwd / MCP_JSON}: edit that file (opencode does not)"
    raise CommandError(f"{path} has no [mcp.{name}]", hint=hint)


def _known(manager: Any, name: str) -> None:
    names = [s.name for s in manager.specs]
    if name not in names:
        raise CommandError(
            f"no MCP server named {name!r}; configured: {', '.join(names) or '(none)'}"
        )
    if name not in manager.connections:
        raise CommandError(f"MCP server {name!r} is disabled (enabled = false)")


def _pairs(items: list[str] | None, flag: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CommandError(f"{flag} {item!r}: expected KEY=VALUE")
        found[key.strip()] = value
    return found


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 80 else line[:77] + "..."
