"""Fast tier: the adapters parse byte-for-byte recordings of real servers.

``tests/fixtures/streams/real`` holds what llama-server (OpenAI and Anthropic endpoints) and
``python -m llama_cpp.server`` actually sent to SmolLM2 requests (recorded by
``tests/realserver/capture.py``; ``manifest.json`` says which server, endpoint, status and
request). Each recording is served by the loopback ``StreamServer`` with its recorded status
and content type, parsed by the real adapter, and the events are checked against an
independent, minimal reading of the same bytes (the expected text, call and usage come from
the recording, not from the adapter).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opencode.sessions.events import (
    Finish,
    ProviderError,
    ProviderEvent,
    TextDelta,
    ToolCallEnd,
    ToolCallStart,
    Usage,
)
from opencode.sessions.providers.base import ChatMessage, ChatRequest, ProviderConfig, ToolSpec
from opencode.sessions.providers.factory import make_provider
from tests.support.fixtures import stream_server  # noqa: F401  (fixture)
from tests.support.stream_server import Reply, StreamServer

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "streams" / "real"
MANIFEST: dict[str, Any] = json.loads((REAL / "manifest.json").read_text(encoding="utf-8"))
CAPTURES: list[dict[str, Any]] = MANIFEST["captures"]
OPENAI_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls"}
ANTHROPIC_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
}


# ----------------------------------------------------------------- reading the recordings


def data_events(raw: bytes) -> list[dict[str, Any]]:
    out = []
    for line in raw.decode("utf-8").splitlines():
        if line.startswith("data:") and line[5:].strip().startswith("{"):
            out.append(json.loads(line[5:]))
    return out


def expected_text(raw: bytes, api: str) -> str:
    pieces = []
    for event in data_events(raw):
        if api == "openai":
            for choice in event.get("choices") or []:
                pieces.append((choice.get("delta") or {}).get("content") or "")
        elif event.get("type") == "content_block_delta":
            pieces.append(event["delta"].get("text") or "")
    return "".join(pieces)


def expected_finish(raw: bytes, api: str) -> str | None:
    reason = None
    for event in data_events(raw):
        if api == "openai":
            for choice in event.get("choices") or []:
                reason = choice.get("finish_reason") or reason
        elif event.get("type") == "message_delta":
            reason = event["delta"].get("stop_reason") or reason
    table = OPENAI_FINISH if api == "openai" else ANTHROPIC_FINISH
    return table.get(reason or "", "other") if reason else None


def expected_usage(raw: bytes, api: str) -> tuple[int, int, int] | None:
    """(input incl. cached, output, cache read) as ``opencode.sessions.providers.usage``
    defines them."""
    merged: dict[str, Any] = {}
    for event in data_events(raw):
        usage = event.get("usage") or (event.get("message") or {}).get("usage")
        if usage:
            merged.update({k: v for k, v in usage.items() if v is not None})
    if not merged:
        return None
    if api == "openai":
        cached = (merged.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        return merged["prompt_tokens"], merged["completion_tokens"], cached
    # Anthropic counts uncached input beside the cache reads and writes.
    read = merged.get("cache_read_input_tokens") or 0
    written = merged.get("cache_creation_input_tokens") or 0
    return merged.get("input_tokens", 0) + read + written, merged.get("output_tokens", 0), read


def expected_call(raw: bytes, api: str) -> tuple[str, str, str]:
    """(id, name, arguments) of the one recorded tool call; id and name from its first delta."""
    call_id, name, arguments = "", "", ""
    for event in data_events(raw):
        if api == "openai":
            for choice in event.get("choices") or []:
                for delta in (choice.get("delta") or {}).get("tool_calls") or []:
                    function = delta.get("function") or {}
                    call_id = call_id or delta.get("id") or ""
                    name = name or function.get("name") or ""
                    arguments += function.get("arguments") or ""
        elif event.get("type") == "content_block_start":
            block = event["content_block"]
            if block.get("type") == "tool_use":
                call_id, name = block["id"], block["name"]
        elif event.get("type") == "content_block_delta":
            arguments += event["delta"].get("partial_json") or ""
    return call_id, name, arguments


# ----------------------------------------------------------------- replaying them


async def replay(
    server: StreamServer, capture: dict[str, Any], *, coalesce: bool = True
) -> list[ProviderEvent]:
    raw = (REAL / capture["file"]).read_bytes()
    server.add(
        Reply(
            body=raw,
            status=capture["status"],
            headers={"content-type": capture["content_type"] or "text/event-stream"},
        )
    )
    config = ProviderConfig(
        name="real",
        api=capture["api"],
        base_url=server.url + "/v1",
        api_key="sk-unused",
        timeout=10.0,
        max_retries=0,
        options={"coalesce": coalesce},
    )
    request = ChatRequest(
        model="smollm2",
        messages=[ChatMessage(role="user", content="hi")],
        system="You are a helpful assistant.",
        tools=[ToolSpec("read", "Read a file", {"type": "object", "properties": {}})],
    )
    provider = make_provider(config)
    try:
        return [event async for event in provider.stream(request)]
    finally:
        await provider.aclose()


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [c for c in CAPTURES if c["kind"] == kind]


def ids(capture: dict[str, Any]) -> str:
    return str(capture["name"])


def test_the_recordings_cover_every_server_and_endpoint() -> None:
    seen = {(c["server"], c["api"], c["kind"]) for c in CAPTURES}
    for api in ("openai", "anthropic"):
        for kind in ("text", "tool_call", "tool_result", "error"):
            assert ("llama-server", api, kind) in seen
    for kind in ("text", "tool_call", "empty", "error"):
        assert ("llama_cpp.server", "openai", kind) in seen
    for capture in CAPTURES:
        assert (REAL / capture["file"]).is_file(), capture["file"]


@pytest.mark.parametrize("capture", by_kind("text") + by_kind("tool_result"), ids=ids)
async def test_text_streams(stream_server: StreamServer, capture: dict[str, Any]) -> None:  # noqa: F811
    raw = (REAL / capture["file"]).read_bytes()
    # Without coalescing each event is its own delta, whatever arrived in one read: this
    # proves the reply is parsed event by event (a loopback replay arrives in few reads).
    events = await replay(stream_server, capture, coalesce=False)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text and text == expected_text(raw, capture["api"])
    assert sum(isinstance(e, TextDelta) for e in events) > 1  # streamed, not one block
    merged = await replay(stream_server, capture)
    assert "".join(e.text for e in merged if isinstance(e, TextDelta)) == text
    assert not any(isinstance(e, ProviderError) for e in events)
    finish = [e for e in events if isinstance(e, Finish)]
    assert len(finish) == 1 and finish[0].reason == expected_finish(raw, capture["api"])
    usage = expected_usage(raw, capture["api"])
    reported = [e for e in events if isinstance(e, Usage)]
    if usage is not None:
        last = reported[-1]
        assert (last.input_tokens, last.output_tokens, last.cache_read_tokens) == usage
        assert usage[0] > 0 and usage[1] > 0


def test_llama_cpp_python_recording_has_ping_comments() -> None:
    raw = (REAL / "llama_cpp_python_text.sse").read_bytes()
    # The parser test above only means something for comments if the bytes contain them.
    assert b"\n: ping - " in b"\n" + raw
    assert expected_usage(raw, "openai") is None  # this server sends no usage when streaming


@pytest.mark.parametrize("capture", by_kind("tool_call"), ids=ids)
async def test_tool_calls(stream_server: StreamServer, capture: dict[str, Any]) -> None:  # noqa: F811
    raw = (REAL / capture["file"]).read_bytes()
    events = await replay(stream_server, capture)
    call_id, name, arguments = expected_call(raw, capture["api"])
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    ends = [e for e in events if isinstance(e, ToolCallEnd)]
    assert len(starts) == 1 and len(ends) == 1
    assert (ends[0].id, ends[0].name, ends[0].arguments) == (call_id, name, arguments)
    assert name == "read"
    assert isinstance(json.loads(arguments), dict)
    finish = [e for e in events if isinstance(e, Finish)]
    assert len(finish) == 1 and finish[0].reason == "tool_calls"
    assert not any(isinstance(e, ProviderError) for e in events)


@pytest.mark.parametrize("capture", by_kind("error"), ids=ids)
async def test_rejections(stream_server: StreamServer, capture: dict[str, Any]) -> None:  # noqa: F811
    raw = (REAL / capture["file"]).read_bytes()
    server_message = json.loads(raw)["error"]["message"]
    events = await replay(stream_server, capture)
    assert len(events) == 1 and isinstance(events[0], ProviderError)
    error = events[0]
    assert error.status == capture["status"]
    assert str(capture["status"]) in error.message
    # The server's own words, whitespace folded onto one line.
    assert " ".join(server_message.split())[:40] in " ".join(error.message.split())
    assert stream_server.url in error.message


@pytest.mark.parametrize("capture", by_kind("empty"), ids=ids)
async def test_empty_bodies(stream_server: StreamServer, capture: dict[str, Any]) -> None:  # noqa: F811
    # Nothing but (at most) ``: ping`` comments: no data event at all.
    raw = (REAL / capture["file"]).read_bytes()
    assert data_events(raw) == [] and b"data:" not in raw
    assert capture["status"] == 200
    events = await replay(stream_server, capture)
    assert len(events) == 1 and isinstance(events[0], ProviderError)
    assert "empty" in events[0].message and stream_server.url in events[0].message
