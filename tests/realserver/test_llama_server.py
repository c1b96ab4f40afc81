"""``opencode run`` against the real C++ ``llama-server`` serving SmolLM2, through both its
OpenAI endpoint (``/v1/chat/completions``) and its Anthropic endpoint (``/v1/messages``).

Plain streaming with usage and a request the server rejects go through ``opencode run``. The
real server-generated tool call, which the runner executes and whose result goes back for a
second turn, runs the real runner in-process: the request needs an assistant prefill that
``opencode run`` cannot express (see ``ToolCallRecipe``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import replace
from pathlib import Path

import pytest

from sessions.events import ProviderEvent
from sessions.providers.base import ChatMessage, ChatRequest, Provider, ProviderConfig
from tests.engine.helpers import opencode, query
from tests.realserver.helpers import TOOL_PROMPT, write_real_config
from tests.realserver.servers import RunningServer

pytestmark = pytest.mark.realserver

APIS = ["openai", "anthropic"]
# The forced tool choice, in each API's words (see REAL_MODEL.md).
TOOL_CHOICE: dict[str, object] = {"openai": "required", "anthropic": {"type": "any"}}
PREFILL = "<tool_call>\n"


@pytest.mark.parametrize("api", APIS)
def test_plain_streaming_with_usage(llama_server: RunningServer, tmp_path: Path, api: str) -> None:
    project = tmp_path / "p"
    write_real_config(project, api, llama_server.url + "/v1", tools=False)
    run = opencode(project, "run", "--format", "json", "What is the capital of France?")
    assert run.code == 0, run.stderr
    texts = run.of_type("text")
    streamed = "".join(e["text"] for e in texts)
    assert "Paris" in streamed
    assert len(texts) > 3
    finish = run.of_type("finish")[0]
    assert finish["reason"] in ("stop", "length")
    usage = finish["usage"]
    # The system prompt alone is dozens of tokens; max_tokens caps the answer.
    assert usage["input_tokens"] > 20
    assert 0 < usage["output_tokens"] <= 24
    stored = query(
        "SELECT p.content FROM part p JOIN message m ON p.message_id = m.id "
        "WHERE m.role = 'assistant' AND p.kind = 'text'"
    )
    assert "".join(r["content"] for r in stored) == streamed


@pytest.mark.parametrize("api", APIS)
def test_a_rejected_request_is_a_clear_error(
    llama_server: RunningServer, tmp_path: Path, api: str
) -> None:
    # More tokens than the 4096-token context: llama-server refuses before streaming.
    project = tmp_path / "p"
    write_real_config(project, api, llama_server.url + "/v1", tools=False)
    run = opencode(project, "run", "word " * 6000, timeout=120)
    assert run.code == 1
    assert "HTTP 400" in run.stderr or "400" in run.stderr
    assert "context" in run.stderr  # the server's own reason
    assert llama_server.url in run.stderr
    assert query("SELECT COUNT(*) AS n FROM part WHERE kind = 'error'")[0]["n"] == 1


class ToolCallRecipe:
    """Shapes the first request of a turn like REAL_MODEL.md's recipe for a real tool call.

    SmolLM2 never chooses a tool by itself, and ``opencode run`` has no way to add an
    assistant prefill, so the runner gets this around the real adapter: when the request ends
    with the user's message, it appends the assistant prefill ``<tool_call>\\n`` and asks for
    a required tool with a stop at ``</tool_call>``. The server still generates and parses the
    call itself; later steps (after a tool result) go out unchanged.
    """

    def __init__(self, inner: Provider, api: str) -> None:
        self.inner = inner
        self.config = inner.config
        self.api = api
        self.requests: list[ChatRequest] = []

    def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        if request.messages and request.messages[-1].role == "user":
            stop_key = "stop" if self.api == "openai" else "stop_sequences"
            request = replace(
                request,
                messages=[*request.messages, ChatMessage(role="assistant", content=PREFILL)],
                extra={
                    **request.extra,
                    "tool_choice": TOOL_CHOICE[self.api],
                    stop_key: ["</tool_call>"],
                },
            )
        self.requests.append(request)
        return self.inner.stream(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("api", APIS)
async def test_server_generated_tool_call_round_trip(
    llama_server: RunningServer, tmp_path: Path, api: str
) -> None:
    from sessions.config import load_config
    from sessions.events import EventBus, SessionEvent, ToolFinished, ToolStarted, TurnFinished
    from sessions.providers.factory import make_provider
    from sessions.runner import PermissionAnswer, PermissionRequest, Runner
    from sessions.store.db import Store
    from sessions.store.writer import StoreWriter
    from sessions.tools.permissions import Permissions
    from sessions.tools.registry import builtin_tools

    project = tmp_path / "p"
    project.mkdir()
    (project / "notes.txt").write_text("The secret word is tangerine.\n")
    write_real_config(project, api, llama_server.url + "/v1", max_tokens=64)
    config = load_config(project)
    store = await Store.open(config.db_path)
    bus = EventBus()
    seen: list[SessionEvent] = []
    bus.subscribe(seen.append)
    writer = StoreWriter(store)
    bus.subscribe(writer)
    wrappers: list[ToolCallRecipe] = []

    def factory(cfg: ProviderConfig) -> Provider:
        wrappers.append(ToolCallRecipe(make_provider(cfg), api))
        return wrappers[-1]

    async def deny(request: PermissionRequest) -> PermissionAnswer:
        return "deny"

    runner = Runner(
        store=store,
        config=config,
        cwd=project,
        bus=bus,
        permissions=Permissions(config.permission, project, allow={"read"}),
        asker=deny,
        provider_factory=factory,
        # Only the tool under test: every tool's schema in the prompt costs ~10 s on 1 thread.
        tools={"read": builtin_tools()["read"]},
    )
    try:
        session = await runner.start_session()
        result = await runner.send(session.id, TOOL_PROMPT, max_steps=3)
    finally:
        await writer.flush()
        await runner.aclose()
        await store.close()

    started = [e for e in seen if isinstance(e, ToolStarted)]
    finished = [e for e in seen if isinstance(e, ToolFinished)]
    assert len(started) == 1, [type(e).__name__ for e in seen]
    call = started[0]
    assert call.tool == "read" and isinstance(call.arguments.get("path"), str)
    assert [f.call_id for f in finished] == [call.call_id]
    # The runner really executed it: the tool's own output (the file, or why it could not).
    assert finished[0].status in ("completed", "error")
    assert finished[0].output
    # The result went back for a second turn, and the server answered it.
    requests = wrappers[0].requests
    assert len(requests) == 2
    second = requests[1].messages
    assert second[-1].role == "tool" and second[-1].tool_call_id == call.call_id
    assert second[-1].content == finished[0].output
    assert isinstance(seen[-1], TurnFinished)
    assert result.finish in ("stop", "length") and result.steps == 2, result
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    stored = query("SELECT kind, tool_name FROM part WHERE kind IN ('tool_call', 'tool_result')")
    assert sorted((r["kind"], r["tool_name"]) for r in stored) == [
        ("tool_call", "read"),
        ("tool_result", "read"),
    ]
