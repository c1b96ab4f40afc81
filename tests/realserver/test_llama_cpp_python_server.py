"""``opencode run`` against ``python -m llama_cpp.server`` serving SmolLM2.

This server streams in its own way: ``: ping`` comment lines between events (its ping
interval is shortened so short streams get them too), no usage in streamed chunks, tool-call
deltas that repeat ``id``/``type``/``function.name`` on every fragment next to a legacy
``function_call``, and HTTP 200 with an empty body when generation fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.helpers import opencode, query
from tests.realserver.helpers import TOOL_PROMPT, write_real_config
from tests.realserver.servers import RunningServer

pytestmark = pytest.mark.realserver


def test_plain_streaming_through_ping_comments(
    llama_cpp_server: RunningServer, tmp_path: Path
) -> None:
    project = tmp_path / "p"
    write_real_config(project, "openai", llama_cpp_server.url + "/v1", tools=False)
    run = opencode(project, "run", "--format", "json", "What is the capital of France?")
    assert run.code == 0, run.stderr
    texts = run.of_type("text")
    streamed = "".join(e["text"] for e in texts)
    assert "Paris" in streamed
    assert len(texts) > 3  # it arrived in pieces, not as one block
    assert run.of_type("finish")[0]["reason"] in ("stop", "length")
    stored = query(
        "SELECT p.content FROM part p JOIN message m ON p.message_id = m.id "
        "WHERE m.role = 'assistant' AND p.kind = 'text'"
    )
    assert "".join(r["content"] for r in stored) == streamed


def test_forced_tool_call_with_repeated_names_runs_and_goes_back(
    llama_cpp_server: RunningServer, tmp_path: Path
) -> None:
    project = tmp_path / "p"
    (project / "notes.txt").parent.mkdir(parents=True)
    (project / "notes.txt").write_text("The secret word is tangerine.\n")
    write_real_config(
        project,
        "openai",
        llama_cpp_server.url + "/v1",
        max_tokens=96,  # room for the whole arguments object: a cut one is not JSON
        extra_body={"tool_choice": {"type": "function", "function": {"name": "read"}}},
    )
    run = opencode(project, "run", "--format", "json", "--max-steps", "2", TOOL_PROMPT)
    assert run.code == 0, run.stderr
    calls = run.of_type("tool_call")
    # Two steps: the forced call, its result sent back, and a second (again forced) call,
    # which proves the server accepted the history holding the tool result.
    assert len(calls) == 2
    first = calls[0]
    assert first["tool"] == "read"
    # The name repeated on every delta must not be concatenated ("readreadread...").
    assert isinstance(first["arguments"], dict), first
    assert "path" in first["arguments"], first
    results = run.of_type("tool_result")
    assert [r["call_id"] for r in results] == [c["call_id"] for c in calls]
    assert all(r["status"] in ("completed", "error", "denied") for r in results)
    finish = run.of_type("finish")[0]
    assert finish["reason"] == "max_steps" and finish["steps"] == 2
    assert not run.of_type("error")
    stored = query("SELECT kind, tool_name FROM part WHERE kind IN ('tool_call', 'tool_result')")
    assert sorted((r["kind"], r["tool_name"]) for r in stored) == [
        ("tool_call", "read"),
        ("tool_call", "read"),
        ("tool_result", "read"),
        ("tool_result", "read"),
    ]


def test_empty_body_after_http_200_is_a_clear_error(
    llama_cpp_server: RunningServer, tmp_path: Path
) -> None:
    # A prompt longer than the context fails inside generation, after the server has already
    # answered 200: the body is empty.
    project = tmp_path / "p"
    write_real_config(project, "openai", llama_cpp_server.url + "/v1", tools=False)
    run = opencode(project, "run", "--format", "json", "word " * 5000, timeout=120)
    assert run.code == 1
    errors = run.of_type("error")
    assert len(errors) == 1
    assert "empty" in errors[0]["message"] and llama_cpp_server.url in errors[0]["message"]
    assert run.of_type("finish")[0]["reason"] == "error"


def test_function_calling_format_with_auto_choice_gives_an_empty_body(
    llama_cpp_fc_server: RunningServer, tmp_path: Path
) -> None:
    project = tmp_path / "p"
    write_real_config(
        project,
        "openai",
        llama_cpp_fc_server.url + "/v1",
        extra_body={"tool_choice": "auto"},
    )
    run = opencode(project, "run", "--format", "json", TOOL_PROMPT)
    assert run.code == 1, run.stdout
    error = run.of_type("error")[0]
    assert "empty" in error["message"]
    assert llama_cpp_fc_server.url + "/v1/chat/completions" in error["message"]
    assert json.dumps(run.of_type("finish")[0]["error"]).count("empty") >= 1
