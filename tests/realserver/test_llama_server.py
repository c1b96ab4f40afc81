"""``opencode run`` against the real C++ ``llama-server`` serving SmolLM2, through both its
OpenAI endpoint (``/v1/chat/completions``) and its Anthropic endpoint (``/v1/messages``).

Everything goes through ``opencode run`` as a subprocess: plain streaming with usage, a request
the server rejects, and a real server-generated tool call that the runner executes and whose
result goes back for a second step (the recipe's assistant prefill comes from
``[provider.NAME.prefill]``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

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


@pytest.mark.parametrize("api", APIS)
def test_server_generated_tool_call_round_trip(
    llama_server: RunningServer, tmp_path: Path, api: str
) -> None:
    """REAL_MODEL.md's recipe for a real tool call, through `opencode run`: on the turn's first
    step an assistant prefill ``<tool_call>\\n``, a required tool choice and a stop at
    ``</tool_call>`` (``[provider.real.prefill]``); the server generates and parses the call,
    the runner executes it, and the result goes back for a second step without the prefill."""
    project = tmp_path / "p"
    project.mkdir()
    (project / "notes.txt").write_text("The secret word is tangerine.\n")
    stop_key = "stop" if api == "openai" else "stop_sequences"
    write_real_config(
        project,
        api,
        llama_server.url + "/v1",
        max_tokens=64,
        # Only the tool under test: every tool's schema in the prompt costs ~10 s on 1 thread.
        tools=["read"],
        prefill={
            "text": PREFILL,
            "extra_body": {"tool_choice": TOOL_CHOICE[api], stop_key: ["</tool_call>"]},
        },
    )
    run = opencode(
        project,
        "run",
        "--format",
        "json",
        "--allow",
        "read",
        "--max-steps",
        "3",
        TOOL_PROMPT,
        timeout=300,
    )
    assert run.code == 0, run.stderr
    calls, results = run.of_type("tool_call"), run.of_type("tool_result")
    assert len(calls) == 1, run.stdout
    call = calls[0]
    assert call["tool"] == "read" and isinstance(call["arguments"].get("path"), str)
    assert [r["call_id"] for r in results] == [call["call_id"]]
    # The runner really executed it: the tool's own output (the file, or why it could not).
    assert results[0]["status"] in ("completed", "error") and results[0]["output"]
    finish = run.of_type("finish")[0]
    assert finish["reason"] in ("stop", "length") and finish["steps"] == 2, finish
    assert finish["usage"]["input_tokens"] > 0 and finish["usage"]["output_tokens"] > 0
    stored = query(
        "SELECT kind, tool_name, content FROM part"
        " WHERE kind IN ('tool_call', 'tool_result') ORDER BY seq"
    )
    assert [(r["kind"], r["tool_name"]) for r in stored] == [
        ("tool_call", "read"),
        ("tool_result", "read"),
    ]
    assert stored[1]["content"] == results[0]["output"]
    # Both steps reached the server and the second carried the tool result: two assistant
    # messages, the first finished by the tool call.
    finishes = [
        r["finish"]
        for r in query("SELECT finish FROM message WHERE role = 'assistant' ORDER BY id")
    ]
    assert finishes[0] == "tool_calls" and len(finishes) == 2
