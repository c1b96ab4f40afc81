"""Ollama's native chat API: ``POST {base_url}/api/chat`` streaming NDJSON.

Each line is a JSON object parsed as soon as it arrives. Tool calls come whole in one line with
their arguments as an object (serialised to JSON text here) and usually without ids (one is
made up); the last line has ``done: true`` with the reason and the token counts.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
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
from opencode.sessions.providers.base import (
    ChatMessage,
    ChatRequest,
    ProviderConfig,
    function_tool_json,
)
from opencode.sessions.providers.http import HttpTransport, merge_extra, synth_call_id
from opencode.sessions.providers.stream_reader import (
    StreamFault,
    coalesce,
)
from opencode.sessions.providers.usage import normalize_usage

DONE_REASONS: dict[str, FinishReason] = {"stop": "stop", "length": "length"}


# --------------------------------------------------------------------------- request


def _arguments_object(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def message_json(message: ChatMessage) -> dict[str, Any]:
    if message.role == "tool":
        out: dict[str, Any] = {"role": "tool", "content": message.content}
        if message.name:
            out["tool_name"] = message.name
        return out
    if message.role == "assistant":
        out = {"role": "assistant", "content": message.content or ""}
        if message.tool_calls:
            out["tool_calls"] = [
                {"function": {"name": c.name, "arguments": _arguments_object(c.arguments)}}
                for c in message.tool_calls
            ]
        return out
    return {"role": "user", "content": message.content}


def request_body(request: ChatRequest) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages.extend(message_json(m) for m in request.messages)
    body: dict[str, Any] = {"model": request.model, "messages": messages, "stream": True}
    if request.tools:
        body["tools"] = [function_tool_json(t) for t in request.tools]
    options: dict[str, Any] = {}
    if request.temperature is not None:
        options["temperature"] = request.temperature
    if request.seed is not None:
        options["seed"] = request.seed
    if request.max_tokens is not None:
        options["num_predict"] = request.max_tokens
    if options:
        body["options"] = options
    extra = dict(request.extra)
    if isinstance(extra.get("options"), dict):  # merge option by option, not replace
        body["options"] = {**options, **extra.pop("options")}
    return merge_extra(body, extra)


# --------------------------------------------------------------------------- reply parsing


class ChatLineParser:
    def __init__(self) -> None:
        self.calls = 0
        self.lines = 0
        self.done = False

    def feed(self, data: dict[str, Any]) -> list[ProviderEvent]:
        self.lines += 1
        events: list[ProviderEvent] = []
        message = data.get("message")
        if isinstance(message, dict):
            thinking = message.get("thinking")
            if isinstance(thinking, str) and thinking:
                events.append(ReasoningDelta(thinking))
            content = message.get("content")
            if isinstance(content, str) and content:
                events.append(TextDelta(content))
            tool_calls = message.get("tool_calls")
            if isinstance(tool_calls, list):
                for call in tool_calls:
                    if isinstance(call, dict):
                        events.extend(self._call(call))
        if data.get("done") is True:
            self.done = True
            usage = normalize_usage(
                {k: data[k] for k in ("prompt_eval_count", "eval_count") if k in data}
            )
            if usage is not None:
                events.append(usage)
            raw = data.get("done_reason")
            raw_reason = raw if isinstance(raw, str) else None
            reason: FinishReason = DONE_REASONS.get(raw_reason or "stop", "other")
            if self.calls and reason == "stop":
                reason = "tool_calls"  # Ollama says "stop" after a tool call
            events.append(Finish(reason, raw_reason))
        return events

    def _call(self, call: dict[str, Any]) -> list[ProviderEvent]:
        function = call.get("function")
        if not isinstance(function, dict) or not function.get("name"):
            return []
        index = self.calls
        self.calls += 1
        name = str(function["name"])
        raw_id = call.get("id")
        call_id = raw_id if isinstance(raw_id, str) and raw_id else synth_call_id(index)
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            text = arguments or "{}"
        else:
            text = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
        return [
            ToolCallStart(index, call_id, name),
            ToolCallDelta(index, text),
            ToolCallEnd(index, call_id, name, text),
        ]


class OllamaProvider:
    """``api = "ollama"``: POST {base_url}/api/chat, NDJSON reply."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        headers = {"accept": "application/x-ndjson"}
        if config.api_key:  # Ollama behind an authenticating proxy, or ollama.com
            headers["authorization"] = f"Bearer {config.api_key}"
        self.http = HttpTransport(config, headers)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        url = self.http.url("api/chat")
        async with self.http.open(url, request_body(request), model=request.model) as opened:
            if isinstance(opened, ProviderError):
                yield opened
                return
            async for event in self._lines(opened, url):
                yield event

    async def _lines(
        self, response: httpx.Response, url: str
    ) -> AsyncGenerator[ProviderEvent, None]:
        made = self.http.line_reader(response, url)
        if isinstance(made, ProviderError):
            yield made
            return
        reader, limits = made
        parser = ChatLineParser()
        try:
            async for lines in reader.batches():
                events: list[ProviderEvent] = []
                for line in lines:
                    line = line.strip()
                    if not line:
                        continue
                    events += self._on_line(line, parser, url, reader.ended_clean)
                    if parser.done or (events and isinstance(events[-1], ProviderError)):
                        break
                if events:
                    reader.touch()
                for event in coalesce(events) if limits.coalesce else events:
                    yield event
                    if isinstance(event, ProviderError):
                        return
                if parser.done:
                    return
        except (StreamFault, httpx.HTTPError) as exc:
            yield self.http.read_failure(exc, url)
            return
        if parser.lines == 0 and reader.ended_clean:
            yield self.http.error(
                f"{self.config.name}: server returned an empty stream from {url} "
                "(HTTP 200 with no lines)",
                url=url,
                status=response.status_code,
                hint=f"check base_url ({self.config.base_url}) points at an Ollama server "
                "(without /api or /v1)",
            )
            return
        yield self.http.truncated_error(url, "the done line")

    def _on_line(
        self, line: bytes, parser: ChatLineParser, url: str, complete: bool
    ) -> list[ProviderEvent]:
        try:
            data = fastjson.loads(line)
        except ValueError:
            if not complete:
                return []  # the body's cut-off last line: reported as truncated after this
            text = line.decode("utf-8", errors="replace")
            return [self.http.format_error(url, "invalid JSON in a stream line", text)]
        if not isinstance(data, dict):
            text = line.decode("utf-8", errors="replace")
            return [self.http.format_error(url, "unexpected stream line", text)]
        if "error" in data:
            return [
                self.http.error(
                    f"{self.config.name}: error in the stream from {url}: {data['error']}",
                    url=url,
                    hint="the text received so far is kept; check `ollama ps` and the "
                    "Ollama server log, then send the message again",
                )
            ]
        return parser.feed(data)
