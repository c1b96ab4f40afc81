"""Anthropic Messages API streaming.

Builds ``POST {base_url}/messages`` (system at the top level, content blocks, tool_use /
tool_result pairs, strict user/assistant alternation, ``max_tokens`` always set) and turns the
typed SSE events (message_start, content_block_*, message_delta, message_stop, ping, error) into
provider events as they arrive.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

import httpx

from opencode.sessions.events import (
    Finish,
    FinishReason,
    ProviderError,
    ProviderEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
)
from opencode.sessions.providers import fastjson
from opencode.sessions.providers.base import ChatMessage, ChatRequest, ProviderConfig
from opencode.sessions.providers.http import HttpTransport, excerpt, merge_extra
from opencode.sessions.providers.sse import SSEDecoder
from opencode.sessions.providers.stream_reader import (
    StreamFault,
    coalesce,
)
from opencode.sessions.providers.usage import normalize_usage

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096

STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


# --------------------------------------------------------------------------- request


def _tool_input(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return {}  # the model's malformed call already failed; the API needs an object
    return value if isinstance(value, dict) else {}


def _blocks(message: ChatMessage) -> tuple[str, list[dict[str, Any]]]:
    if message.role == "tool":
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": message.tool_call_id or "",
            "content": message.content,
        }
        if message.is_error:
            block["is_error"] = True
        return "user", [block]
    blocks: list[dict[str, Any]] = []
    if message.content:  # the API rejects empty text blocks
        blocks.append({"type": "text", "text": message.content})
    if message.role == "assistant":
        for call in message.tool_calls:
            blocks.append(
                {
                    "type": "tool_use",
                    "id": call.id,
                    "name": call.name,
                    "input": _tool_input(call.arguments),
                }
            )
        return "assistant", blocks
    return "user", blocks


def messages_json(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Anthropic wants strict user/assistant alternation: merge neighbours of one role, and
    put tool_result blocks before any text in a user turn (the API requires that order)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        role, blocks = _blocks(message)
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    for entry in out:
        if entry["role"] == "user":
            entry["content"].sort(key=lambda b: 0 if b["type"] == "tool_result" else 1)
    return out


def request_body(request: ChatRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": messages_json(request.messages),
        "stream": True,
    }
    if request.system:
        body["system"] = request.system
    if request.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in request.tools
        ]
    if request.temperature is not None:
        body["temperature"] = request.temperature
    # Anthropic has no seed parameter; sending one would be rejected.
    return merge_extra(body, request.extra)


# --------------------------------------------------------------------------- reply parsing


@dataclass
class _ToolBlock:
    index: int  # position among this reply's tool calls
    id: str
    name: str
    initial: dict[str, Any] = field(default_factory=dict)
    arguments: list[str] = field(default_factory=list)


class MessagesStreamParser:
    def __init__(self, http: HttpTransport, url: str) -> None:
        self.http = http
        self.url = url
        self.tools: dict[int, _ToolBlock] = {}  # by content block index
        self.calls = 0
        self.usage_start: dict[str, Any] | None = None
        self.usage_delta: dict[str, Any] | None = None
        self.stop_reason: str | None = None
        self.events_seen = 0
        self.stopped = False

    def feed(self, kind: str, data: dict[str, Any]) -> list[ProviderEvent]:
        self.events_seen += 1
        kind = str(data.get("type") or kind)
        if kind == "message_start":
            message = data.get("message") or {}
            usage = message.get("usage") if isinstance(message, dict) else None
            self.usage_start = usage if isinstance(usage, dict) else None
            return []
        if kind == "content_block_start":
            return self._block_start(data)
        if kind == "content_block_delta":
            return self._block_delta(data)
        if kind == "content_block_stop":
            return self._block_stop(data)
        if kind == "message_delta":
            delta = data.get("delta") or {}
            if isinstance(delta, dict) and delta.get("stop_reason"):
                self.stop_reason = str(delta["stop_reason"])
            usage = data.get("usage")
            if isinstance(usage, dict):
                self.usage_delta = usage
            return []
        if kind == "message_stop":
            self.stopped = True
            return self.finish()
        if kind == "error":
            return [self._error(data)]
        return []  # ping, and event types added after this was written

    def _block_start(self, data: dict[str, Any]) -> list[ProviderEvent]:
        block = data.get("content_block") or {}
        index = data.get("index")
        if not isinstance(block, dict) or not isinstance(index, int):
            return []
        kind = block.get("type")
        if kind == "text" and block.get("text"):
            return [TextDelta(str(block["text"]))]
        if kind == "thinking" and block.get("thinking"):
            return [ReasoningDelta(str(block["thinking"]))]
        if kind == "tool_use":
            initial = block.get("input")
            tool = _ToolBlock(
                index=self.calls,
                id=str(block.get("id") or f"toolu_{self.calls}"),
                name=str(block.get("name") or ""),
                initial=initial if isinstance(initial, dict) else {},
            )
            self.calls += 1
            self.tools[index] = tool
            return [ToolCallStart(tool.index, tool.id, tool.name)]
        return []

    def _block_delta(self, data: dict[str, Any]) -> list[ProviderEvent]:
        delta = data.get("delta") or {}
        if not isinstance(delta, dict):
            return []
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return [TextDelta(str(delta["text"]))]
        if kind == "thinking_delta" and delta.get("thinking"):
            return [ReasoningDelta(str(delta["thinking"]))]
        if kind == "input_json_delta":
            tool = self.tools.get(data.get("index", -1))
            fragment = delta.get("partial_json")
            if tool is not None and isinstance(fragment, str) and fragment:
                tool.arguments.append(fragment)
                return [ToolCallDelta(tool.index, fragment)]
        return []  # signature_delta, citations_delta

    def _block_stop(self, data: dict[str, Any]) -> list[ProviderEvent]:
        tool = self.tools.pop(data.get("index", -1), None)
        if tool is None:
            return []
        return [self._end(tool)]

    @staticmethod
    def _end(tool: _ToolBlock) -> ToolCallEnd:
        arguments = "".join(tool.arguments)
        if not arguments:
            arguments = json.dumps(tool.initial, ensure_ascii=False)
        return ToolCallEnd(tool.index, tool.id, tool.name, arguments)

    def finish(self) -> list[ProviderEvent]:
        events: list[ProviderEvent] = [self._end(t) for t in self.tools.values()]
        self.tools.clear()
        usage = normalize_usage(self.usage_start, self.usage_delta)
        if usage is not None:
            events.append(usage)
        reason = STOP_REASONS.get(self.stop_reason or "end_turn", "other")
        events.append(Finish(reason, self.stop_reason))
        return events

    def _error(self, data: dict[str, Any]) -> ProviderError:
        error = data.get("error") if isinstance(data.get("error"), dict) else data
        assert isinstance(error, dict)
        kind = str(error.get("type") or "error")
        message = str(error.get("message") or excerpt(json.dumps(data)))
        status = ERROR_STATUS.get(kind)
        retryable = status is not None and (status == 429 or status >= 500)
        name = self.http.config.name
        if kind == "overloaded_error":
            hint = "Anthropic is overloaded: try again in a moment"
        elif retryable:
            hint = f"try again later, or raise [provider.{name}] max_retries"
        else:
            hint = "the text received so far is kept; send the message again to retry"
        return self.http.error(
            f"{name}: error event in the stream from {self.url}: {message} ({kind})",
            url=self.url,
            status=status,
            retryable=retryable,
            hint=hint,
        )


class AnthropicMessagesProvider:
    """``api = "anthropic"``: POST {base_url}/messages with ``stream: true``."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        headers = {"accept": "text/event-stream", "anthropic-version": ANTHROPIC_VERSION}
        if config.api_key:
            headers["x-api-key"] = config.api_key
        self.http = HttpTransport(config, headers)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        url = self.http.url("messages")
        async with self.http.open(url, request_body(request), model=request.model) as opened:
            if isinstance(opened, ProviderError):
                yield opened
                return
            async for event in self._sse(opened, url, request.model):
                yield event

    async def _sse(
        self, response: httpx.Response, url: str, model: str
    ) -> AsyncGenerator[ProviderEvent, None]:
        made = self.http.line_reader(response, url)
        if isinstance(made, ProviderError):
            yield made
            return
        reader, limits = made
        decoder = SSEDecoder()
        parser = MessagesStreamParser(self.http, url)
        try:
            async for lines in reader.batches():
                events: list[ProviderEvent] = []
                content = False
                for kind, raw in decoder.feed(lines):
                    if kind != "ping":
                        content = True  # pings keep a connection open, not the turn alive
                    events += self._on_sse(kind, raw, parser, url)
                    if parser.stopped or (events and isinstance(events[-1], ProviderError)):
                        break
                if content:
                    reader.touch()
                for event in coalesce(events) if limits.coalesce else events:
                    yield event
                    if isinstance(event, ProviderError):
                        return
                if parser.stopped:
                    return
        except (StreamFault, httpx.HTTPError) as exc:
            yield self.http.read_failure(exc, url)
            return
        last = decoder.flush()  # an event the body ended without its blank line
        if last is not None and (reader.ended_clean or _is_json(last[1])):
            for event in self._on_sse(*last, parser, url):
                yield event
                if isinstance(event, ProviderError):
                    return
            if parser.stopped:
                return
        if parser.events_seen == 0 and reader.ended_clean:
            yield self.http.error(
                f"{self.config.name}: server returned an empty stream from {url} "
                "(HTTP 200 with no events)",
                url=url,
                status=response.status_code,
                hint=f"check base_url ({self.config.base_url}) points at the Anthropic "
                f"API (…/v1) and that model {model!r} exists",
            )
            return
        if parser.stop_reason is None or parser.tools:
            # Cut off: the open tool calls are dropped unended (never run); the text stays.
            yield self.http.truncated_error(url, "message_stop")
            return
        # message_delta carried the stop reason and every block was closed: only a proxy
        # dropped message_stop, and the reply is whole.
        for event in parser.finish():
            yield event

    def _on_sse(
        self, kind: str, raw: bytes, parser: MessagesStreamParser, url: str
    ) -> list[ProviderEvent]:
        raw = raw.strip()
        if not raw:
            return []
        try:
            data = fastjson.loads(raw)
        except ValueError:
            text = raw.decode("utf-8", errors="replace")
            return [self.http.format_error(url, "invalid JSON in a data line", text)]
        if not isinstance(data, dict):
            text = raw.decode("utf-8", errors="replace")
            return [self.http.format_error(url, "unexpected data line", text)]
        return parser.feed(kind, data)


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True
