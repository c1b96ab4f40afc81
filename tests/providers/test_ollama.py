"""Ollama native /api/chat adapter against recorded NDJSON served over real HTTP."""

from __future__ import annotations

import json

import pytest

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
from opencode.sessions.providers.base import ChatMessage, ToolCall
from tests.providers.helpers import collect, config, fixture, merge_deltas, request
from tests.support.stream_server import Reply, StreamServer

NDJSON = {"content-type": "application/x-ndjson"}


def serve(name: str, chunk_size: int | None = None) -> StreamServer:
    return StreamServer([Reply(fixture(name), headers=NDJSON, chunk_size=chunk_size)])


@pytest.mark.parametrize("chunk_size", [None, 1])
@pytest.mark.parametrize("coalesced", [False, True])
async def test_text_stream(chunk_size: int | None, coalesced: bool) -> None:
    with serve("ollama_text.ndjson", chunk_size) as server:
        events = await collect(config("ollama", server.url, options={"coalesce": coalesced}))
    words = ["The", " sky", " is", " blue", " because", " of", " Rayleigh", " scattering", "."]
    expected: list[ProviderEvent] = [
        *[TextDelta(w) for w in words],
        Usage(26, 10),
        Finish("stop", "stop"),
    ]
    if coalesced:  # lines read together arrive as one delta: the same text, in order
        assert merge_deltas(events) == merge_deltas(expected)
    else:
        assert events == expected
    assert server.requests[0].path == "/api/chat"


@pytest.mark.parametrize("chunk_size", [None, 1])
async def test_tool_call_with_object_arguments_and_thinking(chunk_size: int | None) -> None:
    with serve("ollama_tool_call.ndjson", chunk_size) as server:
        events = await collect(config("ollama", server.url, options={"coalesce": False}))
    assert events[:2] == [
        ReasoningDelta("The user wants files under src."),
        ReasoningDelta(" I should call list."),
    ]
    start, delta, end = events[2:5]
    assert isinstance(start, ToolCallStart) and start.name == "list"
    assert start.id.startswith("call_0_")  # Ollama sends no id: one is made up
    assert delta == ToolCallDelta(0, '{"path": "src"}')
    assert end == ToolCallEnd(0, start.id, "list", '{"path": "src"}')
    assert events[5:] == [Usage(215, 31), Finish("tool_calls", "stop")]


async def test_edit_call_fixture_for_end_to_end_tests() -> None:
    with serve("ollama_step1_edit_call.ndjson") as server:
        events = await collect(config("ollama", server.url))
    end = next(e for e in events if isinstance(e, ToolCallEnd))
    assert json.loads(end.arguments) == {
        "path": "hello.txt",
        "old_string": "world",
        "new_string": "there",
    }
    with serve("ollama_step2_final.ndjson") as server:
        events = await collect(config("ollama", server.url))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "Done: I replaced world with there."
    assert events[-2:] == [Usage(981, 9), Finish("stop", "stop")]


async def test_error_line_after_text() -> None:
    with serve("ollama_error_line.ndjson") as server:
        events = await collect(config("ollama", server.url))
    assert events[0] == TextDelta("Hel") and len(events) == 2
    assert isinstance(events[1], ProviderError)
    assert "model runner has unexpectedly stopped" in events[1].message


async def test_stream_without_done_line_is_an_error() -> None:
    raw = fixture("ollama_text.ndjson")
    body = b"".join(raw.splitlines(keepends=True)[:3])
    with StreamServer([Reply(body, headers=NDJSON)]) as server:
        events = await collect(config("ollama", server.url, options={"coalesce": False}))
    assert events[:3] == [TextDelta("The"), TextDelta(" sky"), TextDelta(" is")]
    assert isinstance(events[3], ProviderError) and "before the done line" in events[3].message


async def test_request_body_uses_ollama_shapes() -> None:
    args = '{"path": "hello.txt", "old_string": "world", "new_string": "there"}'
    history = [
        ChatMessage(role="user", content="Change world to there"),
        ChatMessage(role="assistant", tool_calls=(ToolCall("call_0_x", "edit", args),)),
        ChatMessage(role="tool", content="edited", tool_call_id="call_0_x", name="edit"),
    ]
    req = request(
        messages=history,
        temperature=0.0,
        seed=42,
        max_tokens=256,
        extra={"options": {"num_ctx": 8192}, "keep_alive": "5m"},
    )
    with serve("ollama_text.ndjson") as server:
        await collect(config("ollama", server.url, api_key=None), req)
    body = server.requests[0].json()
    assert body["stream"] is True and body["model"] == "test-model"
    assert body["options"] == {"temperature": 0.0, "seed": 42, "num_predict": 256, "num_ctx": 8192}
    assert body["keep_alive"] == "5m"
    assert body["messages"][0] == {"role": "system", "content": "You are terse."}
    assert body["messages"][2] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"function": {"name": "edit", "arguments": json.loads(args)}}],
    }
    assert body["messages"][3] == {"role": "tool", "content": "edited", "tool_name": "edit"}
    assert body["tools"][0]["function"]["name"] == "read"
