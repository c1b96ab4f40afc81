"""OpenAI Chat Completions on the proxy's side of the wire: a request body in, provider events
out as ``chat.completion.chunk`` SSE events or one ``chat.completion`` object.

What the proxy cannot carry (image parts, ``n`` > 1) is refused with a 400 in OpenAI's own error
shape, never silently dropped.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from opencode.commands.proxy.errors import BadRequest, UpstreamFailed
from opencode.sessions.events import (
    Finish,
    ProviderError,
    ProviderEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    Usage,
)
from opencode.sessions.providers import fastjson
from opencode.sessions.providers.base import ChatMessage, ChatRequest, ToolCall, ToolSpec

# Request keys passed through to an OpenAI-compatible upstream as they are.
PASSTHROUGH = ("stop", "tool_choice", "top_p", "presence_penalty", "frequency_penalty")
FINISH = {"stop": "stop", "tool_calls": "tool_calls", "length": "length"}
FINISH["content_filter"] = "content_filter"


@dataclass(slots=True)
class ParsedRequest:
    model: str
    request: ChatRequest
    stream: bool
    include_usage: bool
    passthrough: dict[str, Any] = field(default_factory=dict)


def _text(content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for n, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") not in ("text", "input_text"):
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise BadRequest(f"{where}.content[{n}]: {kind!r} parts are not supported")
            out.append(str(part.get("text", "")))
        return "".join(out)
    raise BadRequest(f"{where}.content must be a string or a list of text parts")


def parse_request(body: Any) -> ParsedRequest:
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("'model' is required")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise BadRequest("'messages' must be a non-empty list")
    if body.get("n", 1) != 1:
        raise BadRequest("'n' other than 1 is not supported")
    system: list[str] = []
    messages: list[ChatMessage] = []
    names: dict[str, str] = {}
    for n, item in enumerate(raw_messages):
        where = f"messages[{n}]"
        if not isinstance(item, dict):
            raise BadRequest(f"{where} must be an object")
        role = item.get("role")
        if role in ("system", "developer"):
            system.append(_text(item.get("content"), where))
        elif role == "user":
            messages.append(ChatMessage(role="user", content=_text(item.get("content"), where)))
        elif role == "assistant":
            calls = []
            for m, call in enumerate(item.get("tool_calls") or []):
                function = call.get("function") if isinstance(call, dict) else None
                if not isinstance(function, dict) or not isinstance(call.get("id"), str):
                    raise BadRequest(f"{where}.tool_calls[{m}] needs an id and a function")
                names[call["id"]] = str(function.get("name", ""))
                calls.append(
                    ToolCall(call["id"], names[call["id"]], str(function.get("arguments", "{}")))
                )
            messages.append(
                ChatMessage(
                    role="assistant",
                    content=_text(item.get("content"), where),
                    tool_calls=tuple(calls),
                )
            )
        elif role == "tool":
            call_id = item.get("tool_call_id")
            if not isinstance(call_id, str):
                raise BadRequest(f"{where}: a tool message needs 'tool_call_id'")
            messages.append(
                ChatMessage(
                    role="tool",
                    content=_text(item.get("content"), where),
                    tool_call_id=call_id,
                    name=names.get(call_id, item.get("name")),
                )
            )
        else:
            raise BadRequest(f"{where}.role {role!r} is not one of system, user, assistant, tool")
    tools = []
    for n, tool in enumerate(body.get("tools") or []):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise BadRequest(
                f"tools[{n}] must be {{'type': 'function', 'function': {{'name'...}}}}"
            )
        tools.append(
            ToolSpec(
                function["name"],
                str(function.get("description", "")),
                function.get("parameters") or {"type": "object", "properties": {}},
            )
        )
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    options = body.get("stream_options") or {}
    return ParsedRequest(
        model=model,
        request=ChatRequest(
            model=model,
            messages=messages,
            system="\n\n".join(system) or None,
            tools=tools,
            max_tokens=max_tokens if isinstance(max_tokens, int) else None,
            temperature=body.get("temperature"),
            seed=body.get("seed"),
        ),
        stream=bool(body.get("stream")),
        include_usage=bool(isinstance(options, dict) and options.get("include_usage")),
        passthrough={k: body[k] for k in PASSTHROUGH if k in body},
    )


def error_body(
    message: str, kind: str = "invalid_request_error", code: Any = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _usage(usage: Usage | None) -> dict[str, int]:
    u = usage or Usage()
    return {
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.input_tokens + u.output_tokens,
    }


class _Indexes:
    """Tool calls are numbered 0, 1, 2 ... for the client, whatever the upstream used."""

    def __init__(self) -> None:
        self.map: dict[int, int] = {}

    def __call__(self, index: int) -> int:
        return self.map.setdefault(index, len(self.map))


def _sse(data: dict[str, Any]) -> bytes:
    return b"data: " + fastjson.dumps(data) + b"\n\n"


async def stream_chunks(
    events: AsyncIterator[ProviderEvent], model: str, include_usage: bool
) -> AsyncIterator[bytes]:
    """Provider events as OpenAI SSE bytes, ending with ``data: [DONE]`` (or an error event)."""
    ident = f"chatcmpl-{os.urandom(12).hex()}"
    created = int(time.time())
    index = _Indexes()
    usage: Usage | None = None

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return _sse(
            {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    yield chunk({"role": "assistant", "content": ""})
    async for event in events:
        if isinstance(event, TextDelta):
            yield chunk({"content": event.text})
        elif isinstance(event, ReasoningDelta):
            yield chunk({"reasoning_content": event.text})
        elif isinstance(event, ToolCallStart):
            call = {"index": index(event.index), "id": event.id, "type": "function"}
            call["function"] = {"name": event.name, "arguments": ""}
            yield chunk({"tool_calls": [call]})
        elif isinstance(event, ToolCallDelta):
            call = {"index": index(event.index), "function": {"arguments": event.arguments}}
            yield chunk({"tool_calls": [call]})
        elif isinstance(event, Usage):
            usage = event
        elif isinstance(event, Finish):
            yield chunk({}, FINISH.get(event.reason, "stop"))
        elif isinstance(event, ProviderError):
            yield _sse(error_body(event.message, kind="upstream_error", code=event.status))
            return
    if include_usage:
        yield _sse(
            {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": _usage(usage),
            }
        )
    yield b"data: [DONE]\n\n"


async def completion(events: AsyncIterator[ProviderEvent], model: str) -> dict[str, Any]:
    """Provider events gathered into one ``chat.completion``; a ProviderError is raised."""
    text: list[str] = []
    reasoning: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    index = _Indexes()
    finish = "stop"
    usage: Usage | None = None
    async for event in events:
        if isinstance(event, TextDelta):
            text.append(event.text)
        elif isinstance(event, ReasoningDelta):
            reasoning.append(event.text)
        elif isinstance(event, ToolCallEnd):
            calls[index(event.index)] = {
                "id": event.id,
                "type": "function",
                "function": {"name": event.name, "arguments": event.arguments},
            }
        elif isinstance(event, Usage):
            usage = event
        elif isinstance(event, Finish):
            finish = FINISH.get(event.reason, "stop")
        elif isinstance(event, ProviderError):
            raise UpstreamFailed(event)
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
        finish = "tool_calls"
    return {
        "id": f"chatcmpl-{os.urandom(12).hex()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": _usage(usage),
    }
