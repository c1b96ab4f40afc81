"""Streams that fail honestly: a line without end, a reply cut before its last event, a server
that only sends keep-alives, a reply that never ends. Real loopback servers throughout."""

from __future__ import annotations

import json

import httpx
import pytest

from opencode.sessions.events import ProviderError, ProviderEvent, TextDelta, ToolCallEnd
from opencode.sessions.providers.base import ApiKind
from opencode.sessions.providers.stream_reader import LineReader, StreamFault, StreamLimits
from tests.providers.helpers import SECRET, collect, config
from tests.support.stream_server import Reply, StreamServer

pytestmark = pytest.mark.fault

NDJSON = {"content-type": "application/x-ndjson"}
ENDPOINT = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages", "ollama": "/api/chat"}


def openai_event(data: object) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


def openai_text(text: str) -> bytes:
    return openai_event({"choices": [{"index": 0, "delta": {"content": text}}]})


def anthropic_event(data: dict[str, object]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


ANTHROPIC_START = anthropic_event(
    {"type": "message_start", "message": {"usage": {"input_tokens": 3}}}
) + anthropic_event(
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
)


def anthropic_text(text: str) -> bytes:
    return anthropic_event(
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": text},
        }
    )


def ollama_text(text: str) -> bytes:
    return (
        json.dumps({"message": {"role": "assistant", "content": text}, "done": False}) + "\n"
    ).encode()


def text_reply(api: str, texts: list[str]) -> Reply:
    """A reply that sends ``texts`` and then ends the body cleanly without its last event."""
    if api == "openai":
        return Reply(b"".join(openai_text(t) for t in texts))
    if api == "anthropic":
        return Reply(ANTHROPIC_START + b"".join(anthropic_text(t) for t in texts))
    return Reply(b"".join(ollama_text(t) for t in texts), headers=NDJSON)


def text_of(events: list[ProviderEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def last_error(events: list[ProviderEvent]) -> ProviderError:
    assert events and isinstance(events[-1], ProviderError), events
    return events[-1]


# --------------------------------------------------------------------------- a line without end


async def test_line_reader_stops_within_the_bound_plus_one_read() -> None:
    limit = 256 * 1024
    body = b"data: " + b"x" * (20 * 1024 * 1024)  # 20 MB and never a newline
    with StreamServer([Reply(body, chunk_size=65536)]) as server:
        async with httpx.AsyncClient() as client:
            async with client.stream("GET", server.url) as response:

                def fault(problem: str, key: str) -> ProviderError:
                    return ProviderError(problem, code=key)

                reader = LineReader(response, StreamLimits(max_line_bytes=limit), fault)
                with pytest.raises(StreamFault) as caught:
                    async for _ in reader.batches():
                        pass
    assert caught.value.error.code == "max_line_bytes"
    # What was read (and so the most that was held) is the bound plus at most one read.
    assert limit < reader.received <= limit + 2 * 65536, reader.received


@pytest.mark.parametrize("api", ["openai", "anthropic", "ollama"])
async def test_a_line_longer_than_max_line_bytes_is_a_clear_error(api: ApiKind) -> None:
    head = text_reply(api, ["Hello"]).body
    reply = text_reply(api, [])
    reply.body = head + b'data: {"choices": "' + b"y" * (3 * 1024 * 1024)
    reply.chunk_size = 65536
    with StreamServer([reply]) as server:
        events = await collect(config(api, server.url, options={"max_line_bytes": 1024 * 1024}))
    assert text_of(events) == "Hello"  # what came before is kept
    error = last_error(events)
    assert error.code == "max_line_bytes"
    assert "mock" in error.message and f"{server.url}{ENDPOINT[api]}" in error.message
    assert "max_line_bytes" in error.message and error.hint and "max_line_bytes" in error.hint
    assert SECRET not in error.message + (error.hint or "")


async def test_bad_limit_option_is_named() -> None:
    with StreamServer([text_reply("openai", ["x"])]) as server:
        events = await collect(config("openai", server.url, options={"idle_timeout": "soon"}))
    error = last_error(events)
    assert "[provider.mock] idle_timeout" in error.message and "'soon'" in error.message


# --------------------------------------------------------------------------- cut before the end


@pytest.mark.parametrize("api", ["openai", "anthropic", "ollama"])
async def test_clean_eof_before_the_last_event_is_truncated_and_keeps_the_text(
    api: ApiKind,
) -> None:
    with StreamServer([text_reply(api, ["The answer", " is"])]) as server:
        events = await collect(config(api, server.url))
    assert text_of(events) == "The answer is"
    error = last_error(events)
    assert error.code == "truncated" and error.retryable
    assert "ended before" in error.message and "text so far is saved" in error.message
    assert f"{server.url}{ENDPOINT[api]}" in error.message
    assert not any(type(e).__name__ == "Finish" for e in events)


async def test_openai_cut_mid_line_is_truncated_not_an_empty_stream() -> None:
    body = b'data: {"choices":[{"index":0,"delta":{"content":"hel'
    with StreamServer([Reply(body)]) as server:
        events = await collect(config("openai", server.url))
    error = last_error(events)
    assert error.code == "truncated" and "empty stream" not in error.message


async def test_openai_tool_call_with_whole_arguments_but_no_finish_is_not_ended() -> None:
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "read", "arguments": '{"path": "a.txt"}'},
    }
    body = openai_text("Reading") + openai_event(
        {"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}
    )
    with StreamServer([Reply(body)]) as server:
        events = await collect(config("openai", server.url))
    assert not any(isinstance(e, ToolCallEnd) for e in events)  # so the runner never runs it
    assert last_error(events).code == "truncated"


async def test_anthropic_stop_reason_with_an_open_tool_block_is_truncated() -> None:
    body = (
        ANTHROPIC_START
        + anthropic_event(
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "tool_use", "id": "toolu_1", "name": "read", "input": {}},
            }
        )
        + anthropic_event(
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": '{"path": "a'},
            }
        )
        + anthropic_event({"type": "message_delta", "delta": {"stop_reason": "tool_use"}})
    )
    with StreamServer([Reply(body)]) as server:
        events = await collect(config("anthropic", server.url))
    assert not any(isinstance(e, ToolCallEnd) for e in events)
    assert last_error(events).code == "truncated"


async def test_ollama_cut_inside_the_tool_call_line_is_truncated() -> None:
    line = json.dumps(
        {
            "message": {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"function": {"name": "read", "arguments": {"path": "a.txt"}}}],
            },
            "done": False,
        }
    ).encode()
    with StreamServer([Reply(ollama_text("Reading") + line[:-20], headers=NDJSON)]) as server:
        events = await collect(config("ollama", server.url))
    assert text_of(events) == "Reading"
    assert not any(isinstance(e, ToolCallEnd) for e in events)
    assert last_error(events).code == "truncated"


# --------------------------------------------------------------------------- deadlines


PINGS = {
    "openai": b": ping\n\n",
    "anthropic": b'event: ping\ndata: {"type": "ping"}\n\n',
    "ollama": b"\n",
}


@pytest.mark.parametrize("api", ["openai", "anthropic", "ollama"])
async def test_keepalives_do_not_reset_the_idle_deadline(api: ApiKind) -> None:
    reply = text_reply(api, ["Thinking"])
    reply.body += PINGS[api] * 400  # 400 keep-alives 20 ms apart: 8 s of them
    reply.delay = 0.02
    with StreamServer([reply]) as server:
        events = await collect(config(api, server.url, options={"idle_timeout": 0.5}))
    assert text_of(events) == "Thinking"
    error = last_error(events)
    assert error.code == "idle_timeout" and "idle_timeout" in error.message
    assert f"{server.url}{ENDPOINT[api]}" in error.message
    assert server.completed_at == []  # it gave up long before the server's 8 s were over


async def test_steady_content_resets_the_idle_deadline() -> None:
    texts = [f"w{i} " for i in range(30)]
    reply = text_reply("openai", texts)
    reply.body += openai_event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    reply.delay = 0.03  # 60 lines 30 ms apart: about 1.8 s, longer than the idle deadline
    with StreamServer([reply]) as server:
        events = await collect(config("openai", server.url, options={"idle_timeout": 0.5}))
    assert text_of(events) == "".join(texts)
    assert not any(isinstance(e, ProviderError) for e in events)


async def test_the_stream_deadline_ends_a_reply_that_never_ends() -> None:
    reply = text_reply("openai", [f"w{i} " for i in range(400)])
    reply.delay = 0.02  # content keeps coming for 16 s
    with StreamServer([reply]) as server:
        events = await collect(config("openai", server.url, options={"stream_timeout": 0.6}))
    error = last_error(events)
    assert error.code == "stream_timeout" and "stream_timeout" in error.message
    assert text_of(events).startswith("w0 w1 ")
    assert server.completed_at == []


# --------------------------------------------------------------------------- both read paths


@pytest.mark.parametrize("bulk", [True, False])
@pytest.mark.parametrize("chunk_size", [None, 1, 5000])
async def test_line_reader_gives_the_same_lines_on_both_read_paths(
    bulk: bool, chunk_size: int | None
) -> None:
    lines = [b"data: %d" % i + (b"\r" if i % 3 == 0 else b"") for i in range(2000)]
    body = b"\n".join(lines) + b"\nlast line without newline"
    with StreamServer([Reply(body, chunk_size=chunk_size)]) as server:
        async with httpx.AsyncClient() as client:
            async with client.stream("GET", server.url) as response:

                def fault(problem: str, key: str) -> ProviderError:
                    return ProviderError(problem, code=key)

                reader = LineReader(response, StreamLimits(bulk_reads=bulk), fault)
                got = [line async for batch in reader.batches() for line in batch]
    assert got == [line.rstrip(b"\r") for line in lines] + [b"last line without newline"]
    assert not reader.ended_clean and reader.received == len(body)
