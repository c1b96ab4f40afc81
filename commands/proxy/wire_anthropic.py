"""Anthropic Messages on the proxy's side of the wire: a request body in, provider events out as
``message_start … content_block_* … message_delta, message_stop`` SSE events or one message.

Text, thinking and tool_use blocks are carried; image and document blocks are refused with a
400 in Anthropic's error shape.
"""

from __future__ import annotations

import json
import os
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

PASSTHROUGH = ("stop_sequences", "tool_choice", "top_p", "top_k")
STOP_REASON = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}


@dataclass(slots=True)
class ParsedRequest:
    model: str
    request: ChatRequest
    stream: bool
    passthrough: dict[str, Any] = field(default_factory=dict)


def _blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise BadRequest(f"{where}.content must be a string or a list of content blocks")
    for n, block in enumerate(content):
        if not isinstance(block, dict) or "type" not in block:
            raise BadRequest(f"{where}.content[{n}] must be a content block object")
    return content


def _result_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return str(content)


def parse_request(body: Any) -> ParsedRequest:
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise BadRequest("model: Field required")
    if not isinstance(body.get("max_tokens"), int):
        raise BadRequest("max_tokens: Field required")
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise BadRequest("messages: must be a non-empty list")
    messages: list[ChatMessage] = []
    names: dict[str, str] = {}
    for n, item in enumerate(raw):
        where = f"messages.{n}"
        if not isinstance(item, dict) or item.get("role") not in ("user", "assistant"):
            raise BadRequest(f"{where}.role: must be 'user' or 'assistant'")
        text: list[str] = []
        calls: list[ToolCall] = []
        for m, block in enumerate(_blocks(item.get("content"), where)):
            kind = block["type"]
            if kind == "text":
                text.append(str(block.get("text", "")))
            elif kind in ("thinking", "redacted_thinking"):
                continue  # the upstream cannot verify another model's thinking: dropped
            elif kind == "tool_use" and item["role"] == "assistant":
                call_id, name = str(block.get("id", "")), str(block.get("name", ""))
                names[call_id] = name
                calls.append(ToolCall(call_id, name, json.dumps(block.get("input") or {})))
            elif kind == "tool_result" and item["role"] == "user":
                call_id = str(block.get("tool_use_id", ""))
                messages.append(
                    ChatMessage(
                        role="tool",
                        content=_result_text(block.get("content")),
                        tool_call_id=call_id,
                        name=names.get(call_id),
                        is_error=bool(block.get("is_error")),
                    )
                )
            else:
                raise BadRequest(f"{where}.content.{m}: {kind!r} blocks are not supported here")
        if text or calls:
            messages.append(
                ChatMessage(role=item["role"], content="".join(text), tool_calls=tuple(calls))
            )
    system = body.get("system")
    if isinstance(system, list):
        system = "".join(str(b.get("text", "")) for b in system if isinstance(b, dict))
    tools = []
    for n, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise BadRequest(f"tools.{n}.name: Field required")
        schema = tool.get("input_schema") or {"type": "object", "properties": {}}
        tools.append(ToolSpec(tool["name"], str(tool.get("description", "")), schema))
    return ParsedRequest(
        model=model,
        request=ChatRequest(
            model=model,
            messages=messages,
            system=system if isinstance(system, str) and system else None,
            tools=tools,
            max_tokens=body["max_tokens"],
            temperature=body.get("temperature"),
        ),
        stream=bool(body.get("stream")),
        passthrough={k: body[k] for k in PASSTHROUGH if k in body},
    )


def error_body(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def error_kind(status: int) -> str:
    return {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        529: "overloaded_error",
    }.get(status, "api_error")


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + fastjson.dumps(data) + b"\n\n"


def _usage(usage: Usage | None) -> dict[str, int]:
    u = usage or Usage()
    return {"input_tokens": u.input_tokens, "output_tokens": u.output_tokens}


async def stream_events(events: AsyncIterator[ProviderEvent], model: str) -> AsyncIterator[bytes]:
    message_id = f"msg_{os.urandom(12).hex()}"
    yield _event(
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            },
        },
    )
    block = -1
    open_kind: str | None = None  # "text", "thinking" or "tool:<upstream index>"
    usage: Usage | None = None
    stop_reason = "end_turn"

    def stop_block() -> list[bytes]:
        nonlocal open_kind
        if open_kind is None:
            return []
        open_kind = None
        return [_event("content_block_stop", {"type": "content_block_stop", "index": block})]

    def start_block(kind: str, content_block: dict[str, Any]) -> list[bytes]:
        nonlocal block, open_kind
        out = stop_block()
        block += 1
        open_kind = kind
        start = {"type": "content_block_start", "index": block, "content_block": content_block}
        return [*out, _event("content_block_start", start)]

    def delta(payload: dict[str, Any]) -> bytes:
        body = {"type": "content_block_delta", "index": block, "delta": payload}
        return _event("content_block_delta", body)

    async for event in events:
        if isinstance(event, TextDelta):
            if open_kind != "text":
                for out in start_block("text", {"type": "text", "text": ""}):
                    yield out
            yield delta({"type": "text_delta", "text": event.text})
        elif isinstance(event, ReasoningDelta):
            if open_kind != "thinking":
                for out in start_block("thinking", {"type": "thinking", "thinking": ""}):
                    yield out
            yield delta({"type": "thinking_delta", "thinking": event.text})
        elif isinstance(event, ToolCallStart):
            tool_block = {"type": "tool_use", "id": event.id, "name": event.name, "input": {}}
            for out in start_block(f"tool:{event.index}", tool_block):
                yield out
        elif isinstance(event, ToolCallDelta) and open_kind == f"tool:{event.index}":
            yield delta({"type": "input_json_delta", "partial_json": event.arguments})
        elif isinstance(event, Usage):
            usage = event
        elif isinstance(event, Finish):
            stop_reason = STOP_REASON.get(event.reason, "end_turn")
        elif isinstance(event, ProviderError):
            for out in stop_block():
                yield out
            kind = error_kind(event.status or 500)
            yield _event("error", error_body(event.message, kind))
            return
    for out in stop_block():
        yield out
    yield _event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": _usage(usage),
        },
    )
    yield _event("message_stop", {"type": "message_stop"})


async def message(events: AsyncIterator[ProviderEvent], model: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    usage: Usage | None = None
    stop_reason = "end_turn"
    async for event in events:
        if isinstance(event, TextDelta | ReasoningDelta):
            kind, key = ("text", "text") if isinstance(event, TextDelta) else ("thinking",) * 2
            if content and content[-1]["type"] == kind:
                content[-1][key] += event.text
            else:
                content.append({"type": kind, key: event.text})
        elif isinstance(event, ToolCallEnd):
            try:
                arguments = json.loads(event.arguments or "{}")
            except json.JSONDecodeError:
                arguments = {"_raw": event.arguments}
            content.append(
                {"type": "tool_use", "id": event.id, "name": event.name, "input": arguments}
            )
        elif isinstance(event, Usage):
            usage = event
        elif isinstance(event, Finish):
            stop_reason = STOP_REASON.get(event.reason, "end_turn")
        elif isinstance(event, ProviderError):
            raise UpstreamFailed(event)
    if any(block["type"] == "tool_use" for block in content):
        stop_reason = "tool_use"
    return {
        "id": f"msg_{os.urandom(12).hex()}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": _usage(usage),
    }
