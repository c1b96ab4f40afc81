"""What one model call carries: the system prompt, the tools offered, and the provider
options that shape the request (``[provider.NAME]`` in opencode.toml, or per-call options).
Pure functions of config and conversation; no I/O."""

from __future__ import annotations

from typing import Any

from opencode.sessions.providers.base import ChatMessage, ChatRequest, ProviderConfig
from opencode.sessions.tools.base import Tool

DEFAULT_SYSTEM_PROMPT = (
    "You are opencode, a coding agent working in the user's project at {cwd}. "
    "Use the tools to read, search and change files and to run commands; prefer small, exact "
    "edits; say briefly what you did."
)


def build_request(
    model_name: str,
    system: str,
    history: list[ChatMessage],
    provider: ProviderConfig,
    request_options: dict[str, Any] | None,
    offered: dict[str, Tool],
) -> ChatRequest:
    """One model call. Provider options that shape it (all optional, from
    ``[provider.NAME]``): ``max_tokens``, ``temperature``, ``seed``; ``extra_body`` (fields
    merged into every request body); ``tools`` (false: send none; a list: only those);
    ``prefill`` (a table: ``text``, an assistant prefill, and ``extra_body``, sent only when
    the conversation ends with the user's message, i.e. on a turn's first step)."""
    from opencode.sessions.tools.registry import tool_specs

    options = {**provider.options, **(request_options or {})}
    extra = _table(options.get("extra_body"))
    messages = list(history)
    prefill = _table(options.get("prefill"))
    if prefill and messages and messages[-1].role == "user":
        text = prefill.get("text")
        if isinstance(text, str) and text:
            messages.append(ChatMessage(role="assistant", content=text))
        extra = {**extra, **_table(prefill.get("extra_body"))}
    return ChatRequest(
        model=model_name,
        messages=messages,
        system=system,
        tools=tool_specs(offered.values()),
        max_tokens=options.get("max_tokens"),
        temperature=options.get("temperature"),
        seed=options.get("seed"),
        extra=extra,
    )


def offered_tools(tools: dict[str, Tool], options: dict[str, Any]) -> dict[str, Tool]:
    """The tools a turn may use: ``tools = false`` none, a list only those. A call to any
    other tool is answered as unknown, whatever the model claims."""
    wanted = options.get("tools", True)
    if wanted is False:
        return {}
    if isinstance(wanted, list):
        return {name: tool for name, tool in tools.items() if name in wanted}
    return dict(tools)


def _table(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}
