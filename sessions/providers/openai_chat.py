"""OpenAI Chat Completions streaming: OpenAI, OpenRouter, LM Studio, llama.cpp, vLLM.

Builds the ``/chat/completions`` request from a ``ChatRequest`` and turns the SSE reply into
provider events as it arrives (our SSE decoder, line by line). Tolerates what real
OpenAI-compatible servers do: tool-call deltas that repeat id/type/name every time, a legacy
``function_call`` beside ``tool_calls``, comment lines, CRLF, usage only in a final chunk with
no choices (or none at all), and ``data: {"error": ...}`` mid-stream.
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
    Usage,
)
from opencode.sessions.providers import fastjson
from opencode.sessions.providers.base import (
    ChatMessage,
    ChatRequest,
    ProviderConfig,
    function_tool_json,
)
from opencode.sessions.providers.http import (
    ERROR_BODY_LIMIT,
    HttpTransport,
    merge_extra,
    provider_error_text,
    synth_call_id,
)
from opencode.sessions.providers.sse import SSEDecoder
from opencode.sessions.providers.stream_reader import (
    StreamFault,
    coalesce,
)
from opencode.sessions.providers.usage import normalize_usage

FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "eos": "stop",
    "end_turn": "stop",
    "length": "length",
    "max_tokens": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


def map_finish(raw: str | None) -> FinishReason:
    if raw is None:
        return "stop"
    return FINISH_REASONS.get(raw, "other")


# --------------------------------------------------------------------------- request


def message_json(message: ChatMessage) -> dict[str, Any]:
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id or "",
            "content": message.content,
        }
    if message.role == "assistant":
        # content "" rather than null: llama_cpp.server rejects a null content.
        out: dict[str, Any] = {"role": "assistant", "content": message.content or ""}
        if message.tool_calls:
            out["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments or "{}"},
                }
                for call in message.tool_calls
            ]
        return out
    return {"role": "user", "content": message.content}


def request_body(request: ChatRequest) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages.extend(message_json(m) for m in request.messages)
    body: dict[str, Any] = {"model": request.model, "messages": messages}
    if request.tools:
        body["tools"] = [function_tool_json(t) for t in request.tools]
    body["stream"] = True
    body["stream_options"] = {"include_usage": True}
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.seed is not None:
        body["seed"] = request.seed
    return merge_extra(body, request.extra)


# --------------------------------------------------------------------------- reply parsing


@dataclass
class _Call:
    index: int
    id: str | None = None
    name: str = ""
    started: bool = False
    ended: bool = False
    arguments: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # fragments seen before the name


class ChatStreamParser:
    """Turns decoded chunk objects into provider events; one instance per reply."""

    def __init__(self) -> None:
        self.calls: dict[int, _Call] = {}
        self.usage: Usage | None = None
        self.raw_finish: str | None = None
        self.saw_finish = False
        self.chunks = 0

    def feed(self, chunk: dict[str, Any]) -> list[ProviderEvent]:
        self.chunks += 1
        events: list[ProviderEvent] = []
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            # Servers that report usage on every chunk report running totals: keep the last.
            self.usage = normalize_usage(usage) or self.usage
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices:
            return events
        choice = choices[0]
        if not isinstance(choice, dict):
            return events
        delta = choice.get("delta") or choice.get("message") or {}
        if isinstance(delta, dict):
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                events.append(ReasoningDelta(reasoning))
            content = delta.get("content")
            if isinstance(content, str) and content:
                events.append(TextDelta(content))
            tool_calls = delta.get("tool_calls")
            if isinstance(tool_calls, list) and tool_calls:
                for position, call in enumerate(tool_calls):
                    if isinstance(call, dict):
                        events.extend(self._tool_delta(call, position))
            elif isinstance(delta.get("function_call"), dict):
                # The legacy functions API: one call, no index, no id.
                events.extend(self._tool_delta({"index": 0, "function": delta["function_call"]}, 0))
        finish = choice.get("finish_reason")
        if isinstance(finish, str) and finish:
            self.raw_finish = finish
            self.saw_finish = True
            events.extend(self.end_calls())
        return events

    def _call_for(self, call: dict[str, Any], position: int) -> _Call:
        index = call.get("index")
        call_id = call.get("id") if isinstance(call.get("id"), str) else None
        if not isinstance(index, int):
            known = next((c for c in self.calls.values() if call_id and c.id == call_id), None)
            if known is not None:
                return known
            if call_id or not self.calls:
                index = len(self.calls) if call_id else position
            else:
                index = max(self.calls)  # a continuation fragment without an index
        existing = self.calls.get(index)
        if existing is not None and call_id and existing.id and call_id != existing.id:
            # Some servers number every parallel call 0 and tell them apart by id only.
            known = next((c for c in self.calls.values() if c.id == call_id), None)
            if known is not None:
                return known
            existing = None
            index = max(self.calls) + 1
        elif existing is not None and existing.ended:  # an index reused after its call ended
            existing = None
            index = max(self.calls) + 1
        if existing is None:
            existing = self.calls[index] = _Call(index=index)
        return existing

    def _tool_delta(self, call: dict[str, Any], position: int) -> list[ProviderEvent]:
        state = self._call_for(call, position)
        events: list[ProviderEvent] = []
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        assert isinstance(function, dict)
        call_id = call.get("id")
        if state.id is None and isinstance(call_id, str) and call_id:
            state.id = call_id
        name = function.get("name")
        if not state.started and isinstance(name, str) and name:
            # Servers that repeat the name on every delta send it whole each time.
            state.name = name
        fragment = function.get("arguments")
        if isinstance(fragment, dict):  # a few servers send the arguments as an object
            fragment = json.dumps(fragment, ensure_ascii=False)
        if not state.started and state.name:
            state.id = state.id or synth_call_id(state.index)
            state.started = True
            events.append(ToolCallStart(state.index, state.id, state.name))
            for pending in state.pending:
                events.append(ToolCallDelta(state.index, pending))
            state.pending.clear()
        if isinstance(fragment, str) and fragment:
            state.arguments.append(fragment)
            if state.started:
                events.append(ToolCallDelta(state.index, fragment))
            else:
                state.pending.append(fragment)
        return events

    def end_calls(self) -> list[ProviderEvent]:
        events: list[ProviderEvent] = []
        for state in sorted(self.calls.values(), key=lambda c: c.index):
            if state.ended:
                continue
            if not state.started:
                continue  # arguments but never a name: nothing callable
            state.ended = True
            assert state.id is not None
            # A call without arguments still needs a JSON object for the runner to parse.
            arguments = "".join(state.arguments) or "{}"
            events.append(ToolCallEnd(state.index, state.id, state.name, arguments))
        return events

    def finish(self) -> list[ProviderEvent]:
        events = self.end_calls()
        if self.usage is not None:
            events.append(self.usage)
        reason = map_finish(self.raw_finish)
        if not self.saw_finish and any(c.ended for c in self.calls.values()):
            reason = "tool_calls"
        events.append(Finish(reason, self.raw_finish))
        return events


def stream_error_event(data: dict[str, Any], http: HttpTransport, url: str) -> ProviderError:
    text = provider_error_text(json.dumps(data).encode())
    error = data.get("error")
    status = error.get("code") if isinstance(error, dict) else None
    return http.error(
        f"{http.config.name}: the server reported an error mid-stream from {url}: {text}",
        url=url,
        status=status if isinstance(status, int) else None,
        retryable=isinstance(status, int) and (status == 429 or status >= 500),
        hint="the text received so far is kept; send the message again to retry",
    )


class OpenAIChatProvider:
    """``api = "openai"``: POST {base_url}/chat/completions with ``stream: true``."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        headers = {"accept": "text/event-stream"}
        if config.api_key:
            headers["authorization"] = f"Bearer {config.api_key}"
        self.http = HttpTransport(config, headers)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        url = self.http.url("chat/completions")
        async with self.http.open(url, request_body(request), model=request.model) as opened:
            if isinstance(opened, ProviderError):
                yield opened
                return
            content_type = opened.headers.get("content-type", "")
            if "application/json" in content_type:
                # The server ignored stream: true and sent one completion object.
                async for event in self._whole_json(opened, url):
                    yield event
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
        parser = ChatStreamParser()
        done = False
        try:
            async for lines in reader.batches():
                batch = decoder.feed(lines)
                if not batch:
                    continue
                reader.touch()
                events: list[ProviderEvent] = []
                for kind, data in batch:
                    outcome = self._on_sse(kind, data, parser, url)
                    if outcome is None:  # [DONE]
                        done = True
                        break
                    events += outcome
                    if events and isinstance(events[-1], ProviderError):
                        break
                for event in coalesce(events) if limits.coalesce else events:
                    yield event
                    if isinstance(event, ProviderError):
                        return
                if done:
                    break
        except (StreamFault, httpx.HTTPError) as exc:
            yield self.http.read_failure(exc, url)
            return
        if not done:
            last = decoder.flush()  # an event the body ended without its blank line
            if last is not None:
                if last[1].strip() == b"[DONE]":
                    done = True
                elif reader.ended_clean or _is_json(last[1]):
                    for event in self._on_sse(*last, parser, url) or []:
                        yield event
                        if isinstance(event, ProviderError):
                            return
        if parser.chunks == 0 and not done and reader.ended_clean:
            yield self.http.error(
                f"{self.config.name}: server returned an empty stream from {url} "
                "(HTTP 200 with no data events)",
                url=url,
                status=response.status_code,
                hint=f"check base_url ({self.config.base_url}) points at an "
                f"OpenAI-compatible /v1 endpoint and that model {model!r} exists",
            )
            return
        if not done and not parser.saw_finish:
            # No [DONE] and no finish_reason: the model was cut off. Its calls are dropped
            # unended (never run), the text already yielded stays.
            yield self.http.truncated_error(url, "[DONE] or a finish_reason")
            return
        for event in parser.finish():
            yield event

    def _on_sse(
        self, kind: str, raw: bytes, parser: ChatStreamParser, url: str
    ) -> list[ProviderEvent] | None:
        data = raw.strip()
        if not data:
            return []
        if data == b"[DONE]":
            return None
        try:
            chunk = fastjson.loads(data)
        except ValueError:
            return [self.http.format_error(url, "invalid JSON in a data line", _text(data))]
        if not isinstance(chunk, dict):
            return [self.http.format_error(url, "unexpected data line", _text(data))]
        if kind == "error" or ("error" in chunk and "choices" not in chunk):
            return [stream_error_event(chunk, self.http, url)]
        return parser.feed(chunk)

    async def _whole_json(
        self, response: httpx.Response, url: str
    ) -> AsyncGenerator[ProviderEvent, None]:
        try:
            raw = bytearray()
            async for piece in response.aiter_bytes():
                raw += piece
                if len(raw) > 16 * ERROR_BODY_LIMIT:
                    break
        except httpx.HTTPError as exc:
            yield self.http.stream_error(exc, url)
            return
        text = raw.decode("utf-8", errors="replace")
        try:
            data = json.loads(text)
        except ValueError:
            yield self.http.format_error(url, "invalid JSON body", text)
            return
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            if isinstance(data, dict) and "error" in data:
                yield stream_error_event(data, self.http, url)
            else:
                yield self.http.format_error(url, "a JSON body that is not a completion", text)
            return
        parser = ChatStreamParser()
        for event in parser.feed(data):
            yield event
        for event in parser.finish():
            yield event


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True
