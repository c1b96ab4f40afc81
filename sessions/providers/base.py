"""The provider contract: a neutral chat request in, a stream of provider events out.

Adapters convert ``ChatRequest`` to their wire format and parse the reply incrementally.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from opencode.sessions.events import ProviderEvent

ApiKind = Literal["openai", "anthropic", "ollama", "local"]


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, exactly as the model produced it


@dataclass(slots=True)
class ChatMessage:
    """One conversation entry in wire-neutral form.

    - ``user``: ``content``.
    - ``assistant``: ``content`` (may be empty) and ``tool_calls``.
    - ``tool``: the result of ``tool_call_id`` (``name`` is the tool), ``content`` its output,
      ``is_error`` when the tool failed or was denied.
    """

    role: Literal["user", "assistant", "tool"]
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False


@dataclass(slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object


def function_tool_json(tool: ToolSpec) -> dict[str, Any]:
    """A tool in the OpenAI function-calling shape, which Ollama and llama.cpp also take."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }


@dataclass(slots=True)
class ChatRequest:
    model: str
    messages: list[ChatMessage]
    system: str | None = None
    tools: list[ToolSpec] = field(default_factory=list)
    max_tokens: int | None = None
    temperature: float | None = None
    seed: int | None = None
    # Wire-level extras merged into the request body last (e.g. ``stop``, ``tool_choice``).
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ProviderConfig:
    """One ``[provider.NAME]`` table, after substitution and validation."""

    name: str
    api: ApiKind
    base_url: str
    api_key: str | None = None
    models: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 120.0
    max_retries: int = 2
    options: dict[str, Any] = field(default_factory=dict)  # api-specific (model_path, threads)

    def __repr__(self) -> str:  # never print the key
        key = "set" if self.api_key else "unset"
        return (
            f"ProviderConfig(name={self.name!r}, api={self.api!r}, "
            f"base_url={self.base_url!r}, api_key={key})"
        )


class Provider(Protocol):
    config: ProviderConfig

    def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        """Yield events as bytes arrive. Errors are yielded as ``ProviderError``, not raised,
        and are always followed by nothing else (the adapter stops)."""
        ...

    async def aclose(self) -> None: ...
