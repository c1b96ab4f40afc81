"""``proxy status`` (also ``/proxy status`` in chat): ask a running proxy's ``/health``.

Serving is ``opencode proxy [options]`` (``commands/proxy/serve.py``): it is not a registry
command because it must start even when the database cannot be opened.
"""

from __future__ import annotations

import json
from typing import Any

from opencode.commands.registry import Arg, CommandContext, CommandError, CommandResult, command


@command(
    "proxy",
    "status",
    help="ask a running proxy how it is doing (its /health)",
    args=[
        Arg("host", option="--host", help="its address (default from [proxy])"),
        Arg("port", option="--port", type=int, help="its port (default from [proxy])"),
    ],
)
async def proxy_status(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    import httpx

    from opencode.commands.proxy.serve import ProxySettingsError, settings

    try:
        host, port, _, token = settings(ctx.config, args)
    except ProxySettingsError as exc:
        raise CommandError(str(exc), 2) from None
    url = f"http://{host}:{port}/health"
    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            reply = await client.get(url, headers=headers)
        health = reply.json()
    except (TimeoutError, httpx.HTTPError, json.JSONDecodeError) as exc:
        raise CommandError(
            f"no opencode proxy answers at {url} ({type(exc).__name__}); start one with "
            f"`opencode proxy --port {port}`"
        ) from None
    lines = [f"opencode proxy at http://{host}:{port}: {health.get('status')}"]
    lines += [f"  {key}: {value}" for key, value in health.items() if key != "status"]
    return CommandResult(data=health, text="\n".join(lines))
