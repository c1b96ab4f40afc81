"""An MCP stdio server (the SDK's MCPServer, formerly FastMCP) that misbehaves on demand.

Modes (argv[1], optional): ``ok`` (default), ``hang-init`` (never answers initialize),
``garbage`` (writes non-JSON lines to stdout around the protocol), ``exit`` (exits at once),
``http PORT`` (streamable HTTP on 127.0.0.1:PORT/mcp). Further arguments are ignored (tests
pass a marker to find the process).
Tools: ``echo``, ``crash`` (the process dies mid-call), ``hang`` (never returns), ``huge``
(a result of ``size`` characters), ``picture`` (image + resource content), ``bad_schema``
(an input schema that is not an object schema), ``prompt`` ``review`` (a prompt) and a
resource ``note://readme``.
"""

from __future__ import annotations

import base64
import os
import sys
import threading
import time

import mcp_types as types
from mcp.server.mcpserver import Context, MCPServer

MODE = sys.argv[1] if len(sys.argv) > 1 else "ok"

if MODE == "exit":
    sys.exit(3)
if MODE == "hang-init":
    time.sleep(3600)  # alive, reading nothing: initialize is never answered
if MODE == "garbage":
    sys.stdout.write("this is not json-rpc\n{broken\n")
    sys.stdout.flush()

server = MCPServer("fault")

# 1x1 transparent PNG
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    if MODE == "garbage":
        print("more garbage on stdout", flush=True)
    return text


@server.tool()
def crash() -> str:
    """Kill the server process in the middle of the call."""
    os._exit(7)


@server.tool()
def exit_soon() -> str:
    """Answer, then exit a moment later (a server dying between calls)."""
    threading.Timer(0.2, lambda: os._exit(9)).start()
    return "bye"


@server.tool()
def hang() -> str:
    """Never return."""
    time.sleep(3600)
    return "unreachable"


@server.tool()
def huge(size: int = 1_000_000) -> str:
    """Return ``size`` characters."""
    return "x" * size


@server.tool()
def picture() -> list[types.ContentBlock]:
    """Text, an image and an embedded resource."""
    return [
        types.TextContent(type="text", text="a picture follows"),
        types.ImageContent(
            type="image", data=base64.b64encode(_PNG).decode(), mime_type="image/png"
        ),
        types.EmbeddedResource(
            type="resource",
            resource=types.TextResourceContents(uri="note://inline", text="inline note"),
        ),
    ]


@server.tool()
def bad_schema(value: str = "") -> str:
    """Its advertised input schema is broken on purpose."""
    return value


@server.tool()
def header(name: str, ctx: Context) -> str:
    """The value of an HTTP request header (streamable-HTTP mode only)."""
    request = getattr(ctx.request_context, "request", None)
    headers = getattr(request, "headers", None)
    return str(headers.get(name, "")) if headers is not None else ""


@server.prompt()
def review(topic: str) -> str:
    """Ask for a review of a topic."""
    return f"Please review {topic} carefully."


@server.resource("note://readme")
def readme() -> str:
    """A small note."""
    return "hello from a resource"


# Passes the SDK's own checks (an object schema) but is nonsense inside: an unknown type, a
# property that is not a schema, a required key that does not exist, a dangling $ref.
server._tool_manager._tools["bad_schema"].parameters = {
    "type": "object",
    "properties": {"value": {"type": "strnig"}, "n": {"type": ["integer", "null"], "minimum": "0"}},
    "required": ["missing"],
    "$ref": "#/definitions/nowhere",
}

if __name__ == "__main__":
    if MODE == "http":  # fault_server.py http PORT: streamable HTTP on 127.0.0.1:PORT/mcp
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("stdio")
