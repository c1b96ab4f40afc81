"""OpenAI chat completions adapter against recorded streams served over real HTTP."""

from __future__ import annotations

import json
import time

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
from opencode.sessions.providers.factory import make_provider
from tests.providers.helpers import SECRET, collect, config, fixture, merge_deltas, request
from tests.support.stream_server import Reply, StreamServer

EDIT_ARGS = '{"path": "hello.txt", "old_string": "world", "new_string": "there"}'

EXPECTED: dict[str, list[ProviderEvent]] = {
    "openai_text.sse": [
        *[
            TextDelta(t)
            for t in ["Hello", "!", " How", " can", " I", " help", " you", " today", "?"]
        ],
        Usage(19, 10),
        Finish("stop", "stop"),
    ],
    "openai_tool_call.sse": [
        ToolCallStart(0, "call_Xk3vRb8sQ2mN7pLz1dTf9aYc", "read"),
        ToolCallDelta(0, '{"path": "src/'),
        ToolCallDelta(0, 'main.py"}'),
        ToolCallEnd(0, "call_Xk3vRb8sQ2mN7pLz1dTf9aYc", "read", '{"path": "src/main.py"}'),
        Usage(412, 17, cache_read_tokens=256),
        Finish("tool_calls", "tool_calls"),
    ],
    "openai_tool_call_repeated_name.sse": [
        ToolCallStart(0, "call__0_glob_cmpl-7f1c2a9e-3b4d-4e8a-9c61-0d5e2f7a8b90", "glob"),
        ToolCallDelta(0, '{"pattern"'),
        ToolCallDelta(0, ': "**/*.py"'),
        ToolCallDelta(0, ', "path": "src"}'),
        ToolCallEnd(
            0,
            "call__0_glob_cmpl-7f1c2a9e-3b4d-4e8a-9c61-0d5e2f7a8b90",
            "glob",
            '{"pattern": "**/*.py", "path": "src"}',
        ),
        Finish("tool_calls", "tool_calls"),
    ],
    "openai_reasoning.sse": [
        ReasoningDelta("The user asks 2+2."),
        ReasoningDelta(" That is 4."),
        ReasoningDelta(" Answer briefly."),
        TextDelta("2 + 2 = "),
        TextDelta("4."),
        Usage(14, 29),
        Finish("stop", "stop"),
    ],
    "openai_usage_final_chunk.sse": [
        TextDelta("Short"),
        TextDelta(" answer."),
        Usage(1200, 2, cache_read_tokens=1024),
        Finish("length", "length"),
    ],
    "openai_crlf.sse": [
        TextDelta("Line one"),
        TextDelta("\nLine two – ünïcode ✓"),
        Finish("stop", "stop"),
    ],
    "openai_step1_edit_call.sse": [
        ToolCallStart(0, "call_E9dT4kLm2Qw8Rz5Yb1Nc7Vx3", "edit"),
        ToolCallDelta(0, '{"path":'),
        ToolCallDelta(0, ' "hello.txt", "old_string": "wor'),
        ToolCallDelta(0, 'ld", "new_string": "there"}'),
        ToolCallEnd(0, "call_E9dT4kLm2Qw8Rz5Yb1Nc7Vx3", "edit", EDIT_ARGS),
        Usage(812, 41),
        Finish("tool_calls", "tool_calls"),
    ],
    "openai_step2_final.sse": [
        *[TextDelta(t) for t in ["Done", ":", " I", " replaced", " world", " with", " there", "."]],
        Usage(887, 9, cache_read_tokens=768),
        Finish("stop", "stop"),
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("chunk_size", [None, 1, 4096])
async def test_fixture_parses_to_exact_events(name: str, chunk_size: int | None) -> None:
    # coalesce = false: one provider event per wire event, exactly as recorded.
    uncoalesced = config("openai", "", options={"coalesce": False})
    with StreamServer([Reply(fixture(name), chunk_size=chunk_size)]) as server:
        uncoalesced.base_url = server.url + "/v1"
        events = await collect(uncoalesced)
    assert events == EXPECTED[name]
    assert server.requests[0].path == "/v1/chat/completions"


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("chunk_size", [None, 1, 4096])
async def test_coalesced_fixture_keeps_text_order_and_boundaries(
    name: str, chunk_size: int | None
) -> None:
    """By default deltas that arrived together are merged: fewer events, the same text in the
    same order, and every boundary between text, reasoning and tool calls kept."""
    with StreamServer([Reply(fixture(name), chunk_size=chunk_size)]) as server:
        events = await collect(config("openai", server.url, options={}))  # the default: merged
    assert merge_deltas(events) == merge_deltas(EXPECTED[name])
    if chunk_size == 4096:  # the whole reply in one read: one delta per run of one kind
        assert events == merge_deltas(EXPECTED[name])


async def test_repeated_name_server_yields_one_call_despite_comments_and_legacy_field() -> None:
    raw = fixture("openai_tool_call_repeated_name.sse")
    assert b": ping - 2026" in raw and b'"function_call": {"name": "glob"' in raw
    with StreamServer([Reply(raw, chunk_size=3)]) as server:
        events = await collect(config("openai", server.url))
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    ends = [e for e in events if isinstance(e, ToolCallEnd)]
    assert len(starts) == 1 and len(ends) == 1
    assert json.loads(ends[0].arguments) == {"pattern": "**/*.py", "path": "src"}


async def test_request_body_and_headers() -> None:
    history = [
        ChatMessage(role="user", content="Change world to there"),
        ChatMessage(role="assistant", tool_calls=(ToolCall("call_1", "edit", EDIT_ARGS),)),
        ChatMessage(role="tool", content="edited hello.txt", tool_call_id="call_1", name="edit"),
    ]
    req = request(
        messages=history,
        max_tokens=64,
        temperature=0.2,
        seed=7,
        extra={"stop": ["\n\n"], "stream_options": None},
    )
    with StreamServer([Reply(fixture("openai_text.sse"))]) as server:
        await collect(config("openai", server.url, headers={"X-Title": "opencode"}), req)
    sent = server.requests[0]
    body = sent.json()
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    assert sent.headers["x-title"] == "opencode"
    assert body["model"] == "test-model" and body["stream"] is True
    assert "stream_options" not in body  # extra None removes a default
    assert body["stop"] == ["\n\n"]
    assert (body["max_tokens"], body["temperature"], body["seed"]) == (64, 0.2, 7)
    assert body["messages"][0] == {"role": "system", "content": "You are terse."}
    assistant = body["messages"][2]
    assert assistant["content"] == ""  # not null: llama_cpp.server rejects null
    assert assistant["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "edit", "arguments": EDIT_ARGS}}
    ]
    assert body["messages"][3] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": "edited hello.txt",
    }
    assert body["tools"][0]["type"] == "function"
    assert body["tools"][0]["function"]["name"] == "read"
    assert body["tools"][0]["function"]["parameters"]["required"] == ["path"]


async def test_default_body_asks_for_usage_and_omits_unset_options() -> None:
    with StreamServer([Reply(fixture("openai_text.sse"))]) as server:
        await collect(config("openai", server.url, api_key=None))
    body = server.requests[0].json()
    assert body["stream_options"] == {"include_usage": True}
    assert not {"max_tokens", "temperature", "seed"} & body.keys()
    assert "authorization" not in server.requests[0].headers


def _sse(*chunks: object) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + (
        b"data: [DONE]\n\n"
    )


async def test_call_without_id_gets_one_and_two_parallel_calls_keep_their_index() -> None:
    body = _sse(
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "function": {"name": "read", "arguments": '{"path":'}},
                            {
                                "index": 1,
                                "id": "call_b",
                                "function": {"name": "list", "arguments": ""},
                            },
                        ]
                    },
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "function": {"arguments": ' "a"}'}},
                            {"index": 1, "function": {"arguments": "{}"}},
                        ]
                    },
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "function_call"}]},
    )
    with StreamServer([Reply(body)]) as server:
        events = await collect(config("openai", server.url))
    ends = [e for e in events if isinstance(e, ToolCallEnd)]
    assert [(e.index, e.name, e.arguments) for e in ends] == [
        (0, "read", '{"path": "a"}'),
        (1, "list", "{}"),
    ]
    assert ends[0].id.startswith("call_0_") and ends[1].id == "call_b"
    assert events[-1] == Finish("tool_calls", "function_call")


async def test_legacy_function_call_alone_becomes_a_tool_call() -> None:
    body = _sse(
        {"choices": [{"index": 0, "delta": {"function_call": {"name": "bash", "arguments": ""}}}]},
        {"choices": [{"index": 0, "delta": {"function_call": {"arguments": '{"command": "ls"}'}}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "function_call"}]},
    )
    with StreamServer([Reply(body)]) as server:
        events = await collect(config("openai", server.url))
    end = next(e for e in events if isinstance(e, ToolCallEnd))
    assert (end.name, end.arguments) == ("bash", '{"command": "ls"}')


async def test_content_filter_and_no_done_marker() -> None:
    choice = {"index": 0, "delta": {"content": "x"}, "finish_reason": "content_filter"}
    body = b"data: " + json.dumps({"choices": [choice]}).encode() + b"\n\n"
    with StreamServer([Reply(body)]) as server:
        events = await collect(config("openai", server.url))
    assert events == [TextDelta("x"), Finish("content_filter", "content_filter")]


async def test_invalid_json_stops_with_error_naming_url_and_excerpt() -> None:
    with StreamServer([Reply(fixture("openai_invalid_json.sse"))]) as server:
        events = await collect(config("openai", server.url))
    assert events[0] == TextDelta("Partial")
    assert len(events) == 2
    error = events[1]
    assert isinstance(error, ProviderError)
    assert f"{server.url}/v1/chat/completions" in error.message
    assert "invalid JSON" in error.message and "chatcmpl-broken-0001" in error.message
    assert "never seen" not in repr(events)


async def test_error_object_mid_stream_is_a_provider_error() -> None:
    body = _sse(
        {"choices": [{"index": 0, "delta": {"content": "Hi"}}]},
        {"error": {"message": "Upstream provider timed out", "code": 502}},
    )
    with StreamServer([Reply(body)]) as server:
        events = await collect(config("openai", server.url))
    assert events[0] == TextDelta("Hi")
    error = events[-1]
    assert isinstance(error, ProviderError) and len(events) == 2
    assert "Upstream provider timed out" in error.message
    assert error.status == 502 and error.retryable


async def test_empty_200_body_is_an_error() -> None:
    with StreamServer([Reply(b"")]) as server:
        events = await collect(config("openai", server.url))
    assert len(events) == 1 and isinstance(events[0], ProviderError)
    assert "server returned an empty stream" in events[0].message
    assert server.url in events[0].message
    assert events[0].hint is not None and "base_url" in events[0].hint


async def test_server_ignoring_stream_true_and_replying_json_still_works() -> None:
    completion = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_z",
                            "type": "function",
                            "function": {"name": "list", "arguments": '{"path": "."}'},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }
    reply = Reply(json.dumps(completion).encode(), headers={"content-type": "application/json"})
    with StreamServer([reply]) as server:
        events = await collect(config("openai", server.url))
    assert events == [
        ToolCallStart(0, "call_z", "list"),
        ToolCallDelta(0, '{"path": "."}'),
        ToolCallEnd(0, "call_z", "list", '{"path": "."}'),
        Usage(5, 3),
        Finish("tool_calls", "tool_calls"),
    ]


async def test_closing_the_stream_early_hangs_up_promptly() -> None:
    pieces = b"".join(
        b'data: {"choices":[{"index":0,"delta":{"content":"w"}}]}\n\n' for _ in range(50)
    )
    with StreamServer([Reply(pieces, delay=0.2)]) as server:
        provider = make_provider(config("openai", server.url))
        stream = provider.stream(request())
        first = await anext(stream)
        started = time.monotonic()
        await stream.aclose()  # what the runner does on Ctrl-C
        await provider.aclose()
        assert time.monotonic() - started < 0.5
    assert first == TextDelta("w")
    assert not server.completed_at  # the server never got to finish the body


async def test_sse_fields_without_space_and_id_retry_lines_are_tolerated() -> None:
    body = (
        b"retry: 3000\n"
        b'id: 1\ndata:{"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'
        b'id: 2\nevent: message\ndata: {"choices":[{"index":0,"delta":{"content":"b"},'
        b'"finish_reason":"stop"}]}\n\n'
        b"data: [DONE]\n\n"
    )
    with StreamServer([Reply(body, chunk_size=5)]) as server:
        events = await collect(config("openai", server.url))
    assert events == [TextDelta("a"), TextDelta("b"), Finish("stop", "stop")]


async def test_parallel_calls_all_numbered_zero_are_told_apart_by_id() -> None:
    def call(call_id: str | None, name: str | None, args: str) -> dict[str, object]:
        function: dict[str, object] = {"arguments": args}
        if name:
            function["name"] = name
        out: dict[str, object] = {"index": 0, "function": function}
        if call_id:
            out["id"] = call_id
        return out

    body = _sse(
        {"choices": [{"index": 0, "delta": {"tool_calls": [call("c1", "read", '{"path": "a"}')]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [call("c2", "read", '{"path":')]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [call("c2", None, ' "b"}')]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    )
    with StreamServer([Reply(body)]) as server:
        events = await collect(config("openai", server.url))
    ends = [(e.id, e.arguments) for e in events if isinstance(e, ToolCallEnd)]
    assert ends == [("c1", '{"path": "a"}'), ("c2", '{"path": "b"}')]
