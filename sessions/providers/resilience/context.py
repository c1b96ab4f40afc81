"""How many tokens a model's context window holds, for the context meter.

In order: ``context_window`` in config (``[provider.NAME] context_window = 32768`` for every
model of the provider, or a table ``context_window = { "MODEL" = 200000 }``); what the endpoint
reports (llama.cpp's ``GET /props`` ``n_ctx``, a models list entry's ``context_length`` /
``context_window`` / ``max_model_len``); the embedded model's ``n_ctx``; a default by model
family. The endpoint is asked only by ``endpoint_window`` (the engine, once per model), never
during a turn, and only where ``probe_allowed``: the built-in ``llamacpp`` provider, or any
provider with ``context_window = "auto"`` (a GET to an endpoint nobody said answers it could
cost a paid gateway a request, or land on a proxy that logs it).
"""

from __future__ import annotations

from typing import Any

import httpx

from opencode.sessions.providers.base import ProviderConfig

PROBE_TIMEOUT_S = 3.0

# Model-family defaults (prefix of the model name, window): published windows of the families.
FAMILY_WINDOWS: tuple[tuple[str, int], ...] = (
    ("claude", 200_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-4o", 128_000),
    ("gpt-4-turbo", 128_000),
    ("gpt-4", 8_192),
    ("gpt-3.5", 16_385),
    ("o1", 200_000),
    ("o3", 200_000),
    ("o4", 200_000),
    ("gemini", 1_048_576),
    ("deepseek", 128_000),
)


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value > 0:
        return int(value)
    return None


def configured_window(provider: ProviderConfig, model: str) -> int | None:
    """The window config sets (or implies) for ``model``, else the family default."""
    value = provider.options.get("context_window")
    if isinstance(value, dict):
        found = _positive_int(value.get(model))
        if found:
            return found
    else:
        found = _positive_int(value)
        if found:
            return found
    if provider.api == "local":
        found = _positive_int(provider.options.get("n_ctx"))
        if found:
            return found
    name = model.rpartition("/")[2].lower()
    for prefix, window in FAMILY_WINDOWS:
        if name.startswith(prefix):
            return window
    return None


def probe_allowed(provider: ProviderConfig) -> bool:
    """Whether the endpoint may be asked for its window (see the module docstring)."""
    value = provider.options.get("context_window")
    if value == "auto":
        return True
    return provider.name == "llamacpp" and value is None and provider.api == "openai"


def parse_props(data: Any) -> int | None:
    """llama.cpp's ``/props``: ``default_generation_settings.n_ctx`` (older servers put
    ``n_ctx`` at the top level)."""
    if not isinstance(data, dict):
        return None
    settings = data.get("default_generation_settings")
    if isinstance(settings, dict):
        found = _positive_int(settings.get("n_ctx"))
        if found:
            return found
    return _positive_int(data.get("n_ctx"))


def parse_models_window(data: Any, model: str) -> int | None:
    """A models list entry's window: ``context_length`` (OpenRouter, LM Studio),
    ``context_window``, ``max_model_len`` (vLLM), llama.cpp's ``meta.n_ctx_train``."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        return None
    for item in data["data"]:
        if not isinstance(item, dict) or item.get("id") != model:
            continue
        for key in ("context_length", "context_window", "max_model_len"):
            found = _positive_int(item.get(key))
            if found:
                return found
        meta = item.get("meta")
        if isinstance(meta, dict):
            return _positive_int(meta.get("n_ctx_train"))
    return None


async def endpoint_window(
    provider: ProviderConfig,
    model: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int | None:
    """The window ``provider``'s endpoint reports for ``model`` (config wins when it sets
    one); None when it reports none or cannot be reached. Never raises."""
    value = provider.options.get("context_window")
    if _positive_int(value) or (isinstance(value, dict) and _positive_int(value.get(model))):
        return configured_window(provider, model)
    if provider.api != "openai":
        return None
    base = provider.base_url.rstrip("/")
    headers = {"user-agent": "opencode-py"}
    if provider.api_key:
        headers["authorization"] = f"Bearer {provider.api_key}"
    root = base[: -len("/v1")] if base.endswith("/v1") else base
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S, transport=transport) as client:
            response = await client.get(base + "/models", headers=headers)
            if response.is_success:
                found = parse_models_window(_json(response), model)
                if found:
                    return found
            response = await client.get(root + "/props", headers=headers)
            if response.is_success:
                return parse_props(_json(response))
    except httpx.HTTPError:
        return None
    return None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
