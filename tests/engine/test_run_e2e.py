"""`opencode run` end to end: a real subprocess, a real loopback HTTP server streaming
recorded provider bytes, a real SQLite file, real tools on a temp project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.helpers import (
    CONTENT_TYPE,
    EXT,
    fixture,
    opencode,
    query,
    whole_db_text,
    write_config,
)
from tests.support.stream_server import Reply, StreamServer

APIS = ["openai", "anthropic", "ollama"]


def edit_conversation(api: str) -> list[Reply]:
    ext = EXT[api]
    headers = {"content-type": CONTENT_TYPE[ext]}
    return [
        Reply(body=fixture(f"{api}_step1_edit_call.{ext}"), headers=headers),
        Reply(body=fixture(f"{api}_step2_final.{ext}"), headers=headers),
    ]


def request_messages(api: str, body: dict) -> list[dict]:  # type: ignore[type-arg]
    return list(body["messages"])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "hello.txt").write_text("hello world\n")
    return project


@pytest.mark.parametrize("api", APIS)
def test_tool_using_conversation_edits_file_and_persists_every_part(
    api: str, project: Path
) -> None:
    with StreamServer(edit_conversation(api)) as server:
        write_config(project, api, server.url)
        run = opencode(project, "run", "--format", "json", "--yes", "Change world to there")
        assert run.code == 0, run.stderr
        assert (project / "hello.txt").read_text() == "hello there\n"

        types = [e["type"] for e in run.events()]
        assert types[0] == "session" and types[-1] == "finish"
        call = run.of_type("tool_call")[0]
        assert call["tool"] == "edit"
        assert call["arguments"] == {
            "path": "hello.txt",
            "old_string": "world",
            "new_string": "there",
        }
        result = run.of_type("tool_result")[0]
        assert result["status"] == "completed" and result["call_id"] == call["call_id"]
        text = "".join(e["text"] for e in run.of_type("text"))
        assert "Done" in text
        finish = run.of_type("finish")[0]
        assert finish["reason"] == "stop" and finish["steps"] == 2
        assert finish["usage"]["input_tokens"] > 0 and finish["usage"]["output_tokens"] > 0
        assert len({e["session_id"] for e in run.events()}) == 1

        # The second request carried the tool result back to the model.
        assert len(server.requests) == 2
        second = json.dumps(server.requests[1].json())
        assert call["call_id"] in second or api == "ollama"
        assert "there" in second

    session_id = run.events()[0]["session_id"]
    messages = query("SELECT * FROM message WHERE session_id = ? ORDER BY id", (session_id,))
    assert [m["role"] for m in messages] == ["user", "assistant", "assistant"]
    assert [m["finish"] for m in messages] == ["stop", "tool_calls", "stop"]
    parts = query("SELECT * FROM part WHERE session_id = ? ORDER BY message_id, seq", (session_id,))
    kinds = [p["kind"] for p in parts]
    assert kinds.count("tool_call") == 1 and kinds.count("tool_result") == 1
    assert "Done" in "".join(p["content"] for p in parts if p["kind"] == "text")
    tool_call = next(p for p in parts if p["kind"] == "tool_call")
    assert tool_call["status"] == "completed" and tool_call["tool_name"] == "edit"
    changes = query(
        "SELECT path, existed, before FROM file_change WHERE session_id = ?", (session_id,)
    )
    assert len(changes) == 1 and changes[0]["before"] == b"hello world\n"
    assert "sk-test-SECRET-1234" not in whole_db_text()


@pytest.mark.parametrize("api", APIS)
def test_continue_sends_prior_messages_and_tool_results(api: str, project: Path) -> None:
    ext = EXT[api]
    with StreamServer(edit_conversation(api)) as server:
        write_config(project, api, server.url)
        first = opencode(project, "run", "--yes", "Change world to there")
        assert first.code == 0, first.stderr
        server.add(
            Reply(
                body=fixture(f"{api}_step2_final.{ext}"),
                headers={"content-type": CONTENT_TYPE[ext]},
            )
        )
        second = opencode(project, "run", "-c", "--format", "json", "Thanks, anything else?")
        assert second.code == 0, second.stderr
        assert second.events()[0]["resumed"] is True
        sent = json.dumps(server.requests[-1].json())
    for expected in ("Change world to there", "Thanks, anything else?", "old_string", "Done"):
        assert expected in sent, expected
    sessions = query("SELECT id FROM session")
    assert len(sessions) == 1


def test_text_format_streams_reply_to_stdout_and_tools_to_stderr(project: Path) -> None:
    with StreamServer(edit_conversation("openai")) as server:
        write_config(project, "openai", server.url)
        run = opencode(project, "run", "--yes", "Change world to there")
    assert run.code == 0, run.stderr
    assert "Done" in run.stdout and "edit" not in run.stdout
    assert "→ edit hello.txt" in run.stderr and "✓ edit" in run.stderr


def test_piped_stdin_is_appended_to_the_message(project: Path) -> None:
    with StreamServer(edit_conversation("openai")[1:]) as server:
        write_config(project, "openai", server.url)
        run = opencode(project, "run", "Review this:", stdin="diff --git a/x b/x\n+added\n")
        assert run.code == 0, run.stderr
        sent = json.dumps(server.requests[0].json())
    assert "Review this:\\n\\ndiff --git a/x b/x" in sent


def test_ask_is_denied_headless_and_the_model_is_told(project: Path) -> None:
    with StreamServer(edit_conversation("openai")) as server:
        write_config(project, "openai", server.url, extra="")
        (project / "opencode.toml").write_text(
            (project / "opencode.toml").read_text() + '\n[permission]\nedit = "ask"\n'
        )
        run = opencode(project, "run", "--format", "json", "Change world to there")
        assert run.code == 0, run.stderr
        second = json.dumps(server.requests[1].json())
    assert (project / "hello.txt").read_text() == "hello world\n"
    permission = run.of_type("permission")[0]
    assert permission["decision"] == "deny" and permission["tool"] == "edit"
    assert run.of_type("tool_result")[0]["status"] == "denied"
    assert "Permission denied" in second


def test_on_ask_fail_exits_3_without_running_the_tool(project: Path) -> None:
    with StreamServer(edit_conversation("openai")) as server:
        write_config(project, "openai", server.url)
        (project / "opencode.toml").write_text(
            (project / "opencode.toml").read_text() + '\n[permission]\nedit = "ask"\n'
        )
        run = opencode(project, "run", "--on-ask", "fail", "Change world to there")
        assert len(server.requests) == 1
    assert run.code == 3
    assert "--allow edit" in run.stderr
    assert (project / "hello.txt").read_text() == "hello world\n"


def test_allow_flag_allows_only_that_tool(project: Path) -> None:
    with StreamServer(edit_conversation("openai")) as server:
        write_config(project, "openai", server.url)
        (project / "opencode.toml").write_text(
            (project / "opencode.toml").read_text() + '\n[permission]\nedit = "ask"\n'
        )
        run = opencode(project, "run", "--allow", "read,edit", "--on-ask", "fail", "go")
    assert run.code == 0, run.stderr
    assert (project / "hello.txt").read_text() == "hello there\n"


def test_max_steps_stops_the_loop(project: Path) -> None:
    with StreamServer(edit_conversation("openai")) as server:
        write_config(project, "openai", server.url)
        run = opencode(project, "run", "--yes", "--format", "json", "--max-steps", "1", "go")
        assert len(server.requests) == 1
    assert run.code == 0
    assert run.of_type("finish")[0]["reason"] == "max_steps"


def test_prefill_and_tool_list_shape_only_the_first_step(project: Path) -> None:
    with StreamServer(edit_conversation("openai")) as server:
        write_config(project, "openai", server.url)
        (project / "opencode.toml").write_text(
            (project / "opencode.toml").read_text()
            + 'tools = ["edit", "read"]\n'
            + '[provider.mock.prefill]\ntext = "<tool_call>\\n"\n'
            + 'extra_body = { tool_choice = "required", stop = ["</tool_call>"] }\n'
        )
        run = opencode(project, "run", "--yes", "go")
        assert run.code == 0, run.stderr
        first, second = (r.json() for r in server.requests)
    assert first["messages"][-1] == {"role": "assistant", "content": "<tool_call>\n"}
    assert first["tool_choice"] == "required" and first["stop"] == ["</tool_call>"]
    assert sorted(t["function"]["name"] for t in first["tools"]) == ["edit", "read"]
    assert second["messages"][-1]["role"] == "tool"
    assert "tool_choice" not in second and "stop" not in second
    assert all(m.get("content") != "<tool_call>\n" for m in second["messages"])


def test_a_tool_not_offered_is_refused_even_if_the_model_calls_it(project: Path) -> None:
    with StreamServer(edit_conversation("openai")) as server:
        write_config(project, "openai", server.url)
        (project / "opencode.toml").write_text(
            (project / "opencode.toml").read_text() + 'tools = ["read"]\n'
        )
        run = opencode(project, "run", "--yes", "--format", "json", "go")
        first = server.requests[0].json()
    assert run.code == 0, run.stderr
    assert [t["function"]["name"] for t in first["tools"]] == ["read"]
    result = run.of_type("tool_result")[0]
    assert result["status"] == "error" and "unknown tool 'edit'" in result["output"]
    assert (project / "hello.txt").read_text() == "hello world\n"


def test_on_ask_fail_records_the_call_as_denied(project: Path) -> None:
    with StreamServer(edit_conversation("openai")) as server:
        write_config(project, "openai", server.url)
        (project / "opencode.toml").write_text(
            (project / "opencode.toml").read_text() + '\n[permission]\nedit = "ask"\n'
        )
        run = opencode(project, "run", "--on-ask", "fail", "--format", "json", "go")
    assert run.code == 3
    assert run.of_type("tool_result")[0]["status"] == "denied"
    parts = query("SELECT kind, status FROM part WHERE kind IN ('tool_call', 'tool_result')")
    assert sorted((p["kind"], p["status"]) for p in parts) == [
        ("tool_call", "denied"),
        ("tool_result", "denied"),
    ]


def test_an_unexpected_failure_ends_the_turn_as_an_error_not_a_traceback(project: Path) -> None:
    # A TOML date cannot be sent as JSON: a real way to make the request builder fail.
    with StreamServer(edit_conversation("openai")) as server:
        write_config(project, "openai", server.url)
        (project / "opencode.toml").write_text(
            (project / "opencode.toml").read_text() + "extra_body = { when = 1979-05-27 }\n"
        )
        run = opencode(project, "run", "--format", "json", "go")
    assert run.code == 1
    assert "Traceback" not in run.stderr
    finish = run.of_type("finish")[0]
    assert finish["reason"] == "error" and "internal error: TypeError" in finish["error"]
    assert run.of_type("error")
    assert [m["finish"] for m in query("SELECT finish FROM message ORDER BY id")] == [
        "stop",
        "error",
    ]


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_max_steps_must_be_positive(project: Path, value: str) -> None:
    run = opencode(project, "run", "--max-steps", value, "go")
    assert run.code == 2
    assert "positive whole number" in run.stderr
