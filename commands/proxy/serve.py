"""``opencode proxy [--host H] [--port P] [--upstream PROVIDER[/MODEL]] [--token T]``.

Serves until interrupted. Defaults come from ``[proxy]`` in opencode.toml (host 127.0.0.1, port
4141; port 0 picks a free one). The first line on stdout says where it listens, so a script can
read the port. ``[proxy] allowed_hosts``, ``allowed_origins`` and ``max_body_bytes`` set the
browser and size guards described in app.py. The database is optional: if it cannot be opened
the proxy says so and forwards without correction rules.
starlette and uvicorn are imported only here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4141
LOOPBACK = ("127.0.0.1", "localhost", "::1")
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024  # app.py's default too


class ProxySettingsError(ValueError):
    pass


def settings(config: Any, args: Mapping[str, Any]) -> tuple[str, int, str | None, str | None]:
    """(host, port, upstream, token) from the command line over ``[proxy]`` in config."""
    section = config.section("proxy")
    host = args.get("host") or section.get("host") or DEFAULT_HOST
    port = args.get("port")
    if port is None:
        port = section.get("port", DEFAULT_PORT)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ProxySettingsError(f"proxy port must be a number from 0 to 65535, not {port!r}")
    upstream = args.get("upstream") or section.get("upstream")
    token = args.get("token") or section.get("token") or os.environ.get("OPENCODE_PROXY_TOKEN")
    return str(host), port, upstream, token


@dataclass(frozen=True, slots=True)
class Guards:
    """``[proxy] allowed_hosts``, ``allowed_origins`` and ``max_body_bytes`` (see app.py)."""

    allowed_hosts: frozenset[str] = frozenset()
    allowed_origins: frozenset[str] = frozenset()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES


def _names(section: Mapping[str, Any], key: str) -> frozenset[str]:
    value = section.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ProxySettingsError(
            f"[proxy] {key} must be a list of strings, e.g. {key} = "
            + ('["myhost:4141"]' if key == "allowed_hosts" else '["http://localhost:3000"]')
        )
    return frozenset(v.strip().lower() if key == "allowed_hosts" else v.strip() for v in value)


def guards(config: Any) -> Guards:
    """The browser and size guards from ``[proxy]``; a bad value is an error naming the key."""
    section = config.section("proxy")
    limit = section.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ProxySettingsError(
            f"[proxy] max_body_bytes must be a positive number of bytes, not {limit!r}"
        )
    return Guards(_names(section, "allowed_hosts"), _names(section, "allowed_origins"), limit)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="opencode proxy",
        description="Serve an OpenAI- and Anthropic-compatible endpoint over the providers in "
        "opencode.toml, applying the correction rules (see `opencode patch`).",
    )
    parser.add_argument("--host", help=f"address to bind (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, help=f"port (default {DEFAULT_PORT}; 0: a free one)")
    parser.add_argument("--upstream", help="PROVIDER[/MODEL] for model names opencode doesn't know")
    parser.add_argument("--token", help="require this bearer token (or x-api-key) from clients")
    return parser


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ProxySettingsError(
            f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port "
            "(0 picks a free one)"
        ) from None
    sock.listen(128)
    return sock


async def _serve(
    config: Any, host: str, port: int, upstream: str | None, token: str | None, guard: Guards
) -> int:
    import uvicorn

    from opencode.commands.proxy.app import ProxyState, build_app
    from opencode.sessions.config import ConfigError
    from opencode.sessions.store.db import Store

    store: Store | None
    try:
        store = await Store.open(config.db_path)
    except Exception as exc:  # a locked or damaged database must not stop the proxy
        print(
            f"opencode proxy: database unavailable ({exc}); forwarding without correction rules",
            file=sys.stderr,
        )
        store = None
    state = ProxyState(
        config=config,
        store=store,
        upstream=upstream,
        token=token,
        allowed_hosts=guard.allowed_hosts,
        allowed_origins=guard.allowed_origins,
        max_body_bytes=guard.max_body_bytes,
    )
    try:
        if upstream:
            state.resolve("probe")
    except ConfigError as exc:
        await state.aclose()
        print(f"opencode proxy: {exc}", file=sys.stderr)
        return 2
    if host not in LOOPBACK and not token:
        print(
            f"opencode proxy: listening on {host} without --token: anyone who can reach it "
            "can use your providers",
            file=sys.stderr,
        )
    try:
        sock = _bind(host, port)
    except ProxySettingsError as exc:
        await state.aclose()
        print(f"opencode proxy: {exc}", file=sys.stderr)
        return 2
    bound = sock.getsockname()[1]
    state.listen = (host, bound)
    if host in ("0.0.0.0", "::") and not guard.allowed_hosts:
        print(
            f"opencode proxy: listening on {host}: clients must reach it as {host}:{bound} or "
            "through loopback unless [proxy] allowed_hosts names the host they use",
            file=sys.stderr,
        )
    print(
        f"opencode proxy listening on http://{host}:{bound} (default {upstream or config.model})",
        flush=True,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(state),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=3,
        )
    )
    try:
        await server.serve(sockets=[sock])
    finally:
        await state.aclose()
    print(f"opencode proxy: stopped after {state.requests} request(s)", file=sys.stderr)
    return 0


def main(argv: Sequence[str]) -> int:
    from opencode.sessions.config import ConfigError, load_config

    opts = _parser().parse_args(list(argv))
    try:
        config = load_config(Path.cwd().resolve())
        host, port, upstream, token = settings(config, vars(opts))
        guard = guards(config)
    except (ConfigError, ProxySettingsError) as exc:
        print(f"opencode proxy: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(config, host, port, upstream, token, guard))
    except KeyboardInterrupt:
        return 0
