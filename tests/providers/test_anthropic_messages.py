"""Anthropic Messages adapter against recorded streams served over real HTTP."""

from __future__ import annotations

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
from tests.providers.helpers import SECRET, collect, config, fixture, merge_deltas, request
from tests.support.stream_server import Reply, StreamServer

EDIT_ARGS = '{"path": "hello.txt", "old_string": "world", "new_string": "there"}'

EXPECTED: dict[str, list[ProviderEvent]] = {
    "anthropic_text.sse": [
        TextDelta("Hello"),
        TextDelta("! How can I"),
        TextDelta(" help you today?"),
        Usage(25, 12),
        Finish("stop", "end_turn"),
    ],
    "anthropic_tool_use.sse": [
        TextDelta("I'll look for"),
        TextDelta(" Python files."),
        ToolCallStart(0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "glob"),
        ToolCallDelta(0, '{"pattern": "**/*'),
        ToolCallDelta(0, '.py"}'),
        ToolCallEnd(0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "glob", '{"pattern": "**/*.py"}'),
        # 472 uncached + 1024 written to the cache; output from message_delta, not added twice
        Usage(1496, 89, cache_read_tokens=0, cache_write_tokens=1024),
        Finish("tool_calls", "tool_use"),
    ],
    "anthropic_thinking.sse": [
        ReasoningDelta("Let me work out 27 * 453 step by step."),
        ReasoningDelta("\n27 * 453 = 12231."),
        TextDelta("27 * 453 = 12,231."),
        Usage(2096, 37, cache_read_tokens=2048),
        Finish("stop", "end_turn"),
    ],
    "anthropic_step1_edit_call.sse": [
        TextDelta("I'll update the file."),
        ToolCallStart(0, "toolu_01A09q90qw90lq917835lq9E", "edit"),
        ToolCallDelta(0, '{"path": "hello.txt", '),
        ToolCallDelta(0, '"old_string": "world", '),
        ToolCallDelta(0, '"new_string": "there"}'),
        ToolCallEnd(0, "toolu_01A09q90qw90lq917835lq9E", "edit", EDIT_ARGS),
        Usage(3376, 96, cache_write_tokens=1536),
        Finish("tool_calls", "tool_use"),
    ],
    "anthropic_step2_final.sse": [
        TextDelta("Done: I replaced"),
        TextDelta(" world with there."),
        Usage(1656, 14, cache_read_tokens=1536),
        Finish("stop", "end_turn"),
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("chunk_size", [None, 1])
@pytest.mark.parametrize("coalesced", [False, True])
async def test_fixture_parses_to_exact_events(
    name: str, chunk_size: int | None, coalesced: bool
) -> None:
    with StreamServer([Reply(fixture(name), chunk_size=chunk_size)]) as server:
        events = await collect(config("anthropic", server.url, options={"coalesce": coalesced}))
    if coalesced:  # deltas read together arrive as one: the same text, order and boundaries
        assert merge_deltas(events) == merge_deltas(EXPECTED[name])
    else:
        assert events == EXPECTED[name]
    assert server.requests[0].path == "/v1/messages"


async def test_error_event_after_text() -> None:
    with StreamServer([Reply(fixture("anthropic_error_event.sse"))]) as server:
        events = await collect(config("anthropic", server.url))
    assert events[0] == TextDelta("Partial answer")
    assert len(events) == 2
    error = events[1]
    assert isinstance(error, ProviderError)
    assert "Overloaded" in error.message and "overloaded_error" in error.message
    assert error.status == 529 and error.retryable
    assert f"{server.url}/v1/messages" in error.message


async def test_stream_without_message_stop_is_an_error_after_the_text() -> None:
    raw = fixture("anthropic_text.sse")
    truncated = raw[: raw.index(b"event: message_delta")]
    with StreamServer([Reply(truncated)]) as server:
        events = await collect(config("anthropic", server.url))
    assert [e for e in events if isinstance(e, TextDelta)][-1] == TextDelta(" help you today?")
    assert isinstance(events[-1], ProviderError)
    assert "ended before message_stop" in events[-1].message


async def test_request_body_alternates_roles_and_puts_tool_results_first() -> None:
    history = [
        ChatMessage(role="user", content="Change world to there"),
        ChatMessage(
            role="assistant",
            content="Editing.",
            tool_calls=(
                ToolCall("toolu_1", "edit", EDIT_ARGS),
                ToolCall("toolu_2", "read", "not json"),
            ),
        ),
        ChatMessage(role="tool", content="edited", tool_call_id="toolu_1", name="edit"),
        ChatMessage(
            role="tool", content="denied", tool_call_id="toolu_2", name="read", is_error=True
        ),
        ChatMessage(role="user", content="Thanks"),
    ]
    req = request(messages=history, seed=3, extra={"metadata": {"user_id": "u1"}})
    with StreamServer([Reply(fixture("anthropic_text.sse"))]) as server:
        await collect(config("anthropic", server.url), req)
    sent = server.requests[0]
    assert sent.headers["x-api-key"] == SECRET
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    body = sent.json()
    assert body["system"] == "You are terse."
    assert body["max_tokens"] == 4096  # required by the API
    assert "seed" not in body and body["metadata"] == {"user_id": "u1"}
    assert body["tools"][0] == {
        "name": "read",
        "description": "Read a file",
        "input_schema": {
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"],
        },
    }
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assistant = body["messages"][1]["content"]
    assert assistant[0] == {"type": "text", "text": "Editing."}
    assert assistant[1] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "edit",
        "input": {"path": "hello.txt", "old_string": "world", "new_string": "there"},
    }
    assert assistant[2]["input"] == {}  # malformed arguments still need an object
    results = body["messages"][2]["content"]
    assert results == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "edited"},
        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "denied", "is_error": True},
        {"type": "text", "text": "Thanks"},
    ]


async def test_max_tokens_from_request_wins() -> None:
    with StreamServer([Reply(fixture("anthropic_text.sse"))]) as server:
        await collect(config("anthropic", server.url), request(max_tokens=100, tools=[]))
    body = server.requests[0].json()
    assert body["max_tokens"] == 100 and "tools" not in body
