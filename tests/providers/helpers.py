"""Drive a real adapter against the loopback server and collect what it yields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.sessions.events import ProviderEvent, ReasoningDelta, TextDelta, ToolCallDelta
from opencode.sessions.providers.base import (
    ApiKind,
    ChatMessage,
    ChatRequest,
    ProviderConfig,
    ToolSpec,
)
from opencode.sessions.providers.factory import make_provider

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "streams"
SECRET = "sk-test-SECRET-9f8e7d6c5b4a"
PATHS = {"openai": "/v1", "anthropic": "/v1", "ollama": "", "local": ""}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def config(api: ApiKind, url: str, **overrides: Any) -> ProviderConfig:
    values: dict[str, Any] = {
        "name": "mock",
        "api": api,
        "base_url": url + PATHS.get(api, ""),
        "api_key": SECRET,
        "timeout": 5.0,
        "max_retries": 0,
        # One provider event per wire event, however the bytes were read: tests that assert
        # exact event lists must not depend on timing. Coalescing tests pass options.
        "options": {"coalesce": False},
    }
    values.update(overrides)
    return ProviderConfig(**values)


def request(**overrides: Any) -> ChatRequest:
    values: dict[str, Any] = {
        "model": "test-model",
        "messages": [ChatMessage(role="user", content="hi")],
        "system": "You are terse.",
        "tools": [
            ToolSpec(
                "read",
                "Read a file",
                {
                    "type": "object",
                    "properties": {"path": {"type": "string"}},
                    "required": ["path"],
                },
            )
        ],
    }
    values.update(overrides)
    return ChatRequest(**values)


async def collect(cfg: ProviderConfig, req: ChatRequest | None = None) -> list[ProviderEvent]:
    provider = make_provider(cfg)
    try:
        return [event async for event in provider.stream(req or request())]
    finally:
        await provider.aclose()


def merge_deltas(events: list[ProviderEvent]) -> list[ProviderEvent]:
    """``events`` with every run of neighbouring text, reasoning or same-call argument deltas
    merged into one: what any batching of the same stream must reduce to."""
    out: list[ProviderEvent] = []
    for event in events:
        last = out[-1] if out else None
        if isinstance(event, TextDelta) and isinstance(last, TextDelta):
            out[-1] = TextDelta(last.text + event.text)
        elif isinstance(event, ReasoningDelta) and isinstance(last, ReasoningDelta):
            out[-1] = ReasoningDelta(last.text + event.text)
        elif (
            isinstance(event, ToolCallDelta)
            and isinstance(last, ToolCallDelta)
            and last.index == event.index
        ):
            out[-1] = ToolCallDelta(event.index, last.arguments + event.arguments)
        else:
            out.append(event)
    return out
