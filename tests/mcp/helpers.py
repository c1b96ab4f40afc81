"""Shared bits of the MCP tests: the real servers' command lines and spec builders."""

from __future__ import annotations

import sys
from pathlib import Path

from opencode.sessions.mcp.specs import ServerSpec

FAULT_SERVER = Path(__file__).resolve().parent / "fault_server.py"
PY = sys.executable


def time_argv() -> list[str]:
    return [PY, "-m", "mcp_server_time", "--local-timezone", "UTC"]


def fault_argv(mode: str = "ok", *extra: str) -> list[str]:
    return [PY, str(FAULT_SERVER), mode, *extra]


def spec(name: str, argv: list[str], timeout: float = 60.0, **kw: object) -> ServerSpec:
    return ServerSpec(
        name=name,
        transport="stdio",
        source="test",
        command=argv[0],
        args=tuple(argv[1:]),
        timeout=timeout,
        **kw,  # type: ignore[arg-type]
    )


def toml_server(name: str, argv: list[str], timeout: float | None = None) -> str:
    args = ", ".join(f'"{a}"' for a in argv[1:])
    lines = [f"[mcp.{name}]", f'command = "{argv[0]}"', f"args = [{args}]"]
    if timeout is not None:
        lines.append(f"timeout = {timeout}")
    return "\n".join(lines) + "\n"
