"""`opencode run` under bad input: every failure is a clear message, the right exit code,
and nothing already received is lost from the database."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.engine.helpers import (
    openai_sse,
    openai_text_chunks,
    opencode,
    query,
    spawn,
    whole_db_text,
    write_config,
)
from tests.support.stream_server import Reply, StreamServer

SECRET = "sk-test-SECRET-1234"


def error_reply(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps({"error": {"message": message, "type": "invalid_request_error"}}).encode()
    return Reply(
        body=body, status=status, headers={"content-type": "application/json", **(headers or {})}
    )


def assistant_parts() -> list[dict[str, object]]:
    rows = query(
        "SELECT p.kind, p.content, p.status, m.finish FROM part p JOIN message m"
        " ON p.message_id = m.id WHERE m.role = 'assistant' ORDER BY m.id, p.seq"
    )
    return [dict(r) for r in rows]


def test_401_is_a_clear_error_without_the_key(tmp_path: Path) -> None:
    with StreamServer([error_reply(401, "Incorrect API key provided: sk-test-****1234")]) as server:
        write_config(tmp_path, "openai", server.url)
        run = opencode(tmp_path, "run", "hello")
    assert run.code == 1
    assert "401" in run.stderr and server.url in run.stderr
    assert "Incorrect API key provided" in run.stderr
    assert "api_key" in run.stderr  # the hint
    assert SECRET not in run.stderr + run.stdout
    assert SECRET not in whole_db_text()
    # The user's message is kept even though the provider refused.
    assert query("SELECT COUNT(*) AS n FROM message WHERE role = 'user'")[0]["n"] == 1
    assert any(p["kind"] == "error" for p in assistant_parts())


def test_429_is_retried_after_retry_after_then_succeeds(tmp_path: Path) -> None:
    replies = [
        error_reply(429, "rate limited", {"retry-after": "1"}),
        Reply(body=openai_text_chunks(["Hi", " there"])),
    ]
    with StreamServer(replies) as server:
        write_config(tmp_path, "openai", server.url)
        started = time.monotonic()
        run = opencode(tmp_path, "run", "hello")
        elapsed = time.monotonic() - started
        assert len(server.requests) == 2
    assert run.code == 0, run.stderr
    assert run.stdout.strip() == "Hi there"
    assert elapsed >= 1.0


def test_500_after_retries_reports_status_and_server_text(tmp_path: Path) -> None:
    with StreamServer([error_reply(500, "model crashed: out of memory")]) as server:
        write_config(tmp_path, "openai", server.url)
        run = opencode(tmp_path, "run", "hello")
        assert len(server.requests) == 2  # max_retries = 1 in the test config
    assert run.code == 1
    assert "500" in run.stderr and "model crashed: out of memory" in run.stderr


def test_stream_cut_midway_keeps_the_text_received(tmp_path: Path) -> None:
    body = openai_text_chunks(["The first half. ", "The second half."])
    cut = body.index(b"The second half.")
    with StreamServer([Reply(body=body, cut_after=cut)]) as server:
        write_config(tmp_path, "openai", server.url)
        run = opencode(tmp_path, "run", "--format", "json", "tell me")
        assert len(server.requests) == 1, "a stream that began is never retried"
    assert run.code == 1
    assert "".join(e["text"] for e in run.of_type("text")) == "The first half. "
    error = run.of_type("error")[0]
    assert server.url in error["message"]
    parts = assistant_parts()
    assert [p["kind"] for p in parts] == ["text", "error"]
    assert parts[0]["content"] == "The first half. " and parts[0]["finish"] == "error"


def test_invalid_json_in_a_delta_is_a_clear_error(tmp_path: Path) -> None:
    good = openai_text_chunks(["Partial "])
    body = good.split(b"data: [DONE]")[0].split(b"\n\n")[0] + b"\n\ndata: {not json\n\n"
    with StreamServer([Reply(body=body)]) as server:
        write_config(tmp_path, "openai", server.url)
        run = opencode(tmp_path, "run", "go")
    assert run.code == 1
    assert "JSON" in run.stderr or "json" in run.stderr
    assert run.stdout.startswith("Partial")
    assert assistant_parts()[0]["content"] == "Partial "


def test_connection_refused_names_the_url(tmp_path: Path) -> None:
    server = StreamServer([Reply(body=b"")])
    server.start()
    url = server.url
    server.stop()
    write_config(tmp_path, "openai", url)
    run = opencode(tmp_path, "run", "hello")
    assert run.code == 1
    assert url in run.stderr


def test_unknown_provider_is_a_usage_error(tmp_path: Path) -> None:
    write_config(tmp_path, "openai", "http://127.0.0.1:9")
    run = opencode(tmp_path, "run", "-m", "nosuch/model", "hello")
    assert run.code == 2
    assert "unknown provider 'nosuch'" in run.stderr
    assert not query("SELECT id FROM session"), "nothing is created for a bad model"


def test_unknown_session_is_a_usage_error(tmp_path: Path) -> None:
    write_config(tmp_path, "openai", "http://127.0.0.1:9")
    run = opencode(tmp_path, "run", "-s", "ses_doesnotexist", "hello")
    assert run.code == 2
    assert "no session 'ses_doesnotexist'" in run.stderr


def _bash_call(command: str, timeout: int) -> bytes:
    args = json.dumps({"command": command, "timeout": timeout})
    return openai_sse(
        {
            "id": "c1",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_bash_1",
                                "type": "function",
                                "function": {"name": "bash", "arguments": ""},
                            }
                        ],
                    },
                    "finish_reason": None,
                }
            ],
        },
        {
            "id": "c1",
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": args}}]},
                    "finish_reason": None,
                }
            ],
        },
        {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    )


def test_tool_that_times_out_is_reported_and_the_turn_goes_on(tmp_path: Path) -> None:
    replies = [
        Reply(body=_bash_call("echo started; sleep 30", 1)),
        Reply(body=openai_text_chunks(["It timed out."])),
    ]
    with StreamServer(replies) as server:
        write_config(tmp_path, "openai", server.url)
        started = time.monotonic()
        run = opencode(tmp_path, "run", "--yes", "--format", "json", "run it")
        assert time.monotonic() - started < 20
        sent = json.dumps(server.requests[1].json())
    assert run.code == 0, run.stderr
    result = run.of_type("tool_result")[0]
    assert result["status"] == "error" and "timed out" in result["output"]
    assert "started" in result["output"]
    assert "timed out" in sent


def _slow_text_reply(pieces: int) -> Reply:
    return Reply(body=openai_text_chunks([f"word{i} " for i in range(pieces)]), delay=0.05)


def _wait_for_stdout(proc, needle: bytes, timeout: float = 20) -> bytes:  # type: ignore[no-untyped-def]
    import os
    import select

    deadline = time.monotonic() + timeout
    seen = b""
    fd = proc.stdout.fileno()
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
    assert needle in seen, seen
    return seen


def test_sigint_mid_stream_exits_130_and_persists_interrupted(tmp_path: Path) -> None:
    with StreamServer([_slow_text_reply(200)]) as server:
        write_config(tmp_path, "openai", server.url)
        proc = spawn(tmp_path, "run", "count")
        _wait_for_stdout(proc, b"word5 ")
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    message = query("SELECT finish FROM message WHERE role = 'assistant'")[0]
    assert message["finish"] == "interrupted"
    text = "".join(str(p["content"]) for p in assistant_parts() if p["kind"] == "text")
    assert text.startswith("word0 word1 word2 word3 word4 word5 ")
    assert "word199" not in text


def test_killed_process_leaves_a_readable_resumable_session(tmp_path: Path) -> None:
    with StreamServer([_slow_text_reply(200)]) as server:
        write_config(tmp_path, "openai", server.url)
        proc = spawn(tmp_path, "run", "count")
        _wait_for_stdout(proc, b"word10 ")
        time.sleep(0.5)  # longer than the store's flush interval
        proc.kill()
        proc.wait(timeout=10)
        rows = query(
            "SELECT m.finish, p.content FROM message m JOIN part p ON p.message_id = m.id"
            " WHERE m.role = 'assistant'"
        )
        assert rows and rows[0]["finish"] is None
        assert str(rows[0]["content"]).startswith("word0 word1 ")

        show = opencode(tmp_path, "session", "list", "--format", "json")
        session_id = json.loads(show.stdout)[0]["id"]
        shown = opencode(tmp_path, "session", "show", session_id)
        assert "Assistant (interrupted)" in shown.stdout and "word0 word1" in shown.stdout

        server.add(Reply(body=openai_text_chunks(["resumed"])))
        resumed = opencode(tmp_path, "run", "-c", "go on")
        assert resumed.code == 0, resumed.stderr
        sent = json.dumps(server.requests[-1].json())
    assert "word0 word1" in sent, "the partial reply goes back to the model"
    finishes = [
        r["finish"] for r in query("SELECT finish FROM message WHERE role='assistant' ORDER BY id")
    ]
    assert finishes == ["interrupted", "stop"]


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_session_export_formats(tmp_path: Path, fmt: str) -> None:
    with StreamServer([Reply(body=openai_text_chunks(["Exported reply"]))]) as server:
        write_config(tmp_path, "openai", server.url)
        assert opencode(tmp_path, "run", "export me").code == 0
    session_id = json.loads(opencode(tmp_path, "session", "list", "--format", "json").stdout)[0][
        "id"
    ]
    out = opencode(tmp_path, "session", "export", session_id[:10], "--format", fmt)
    assert out.code == 0, out.stderr
    if fmt == "json":
        data = json.loads(out.stdout)
        assert [m["role"] for m in data["messages"]] == ["user", "assistant"]
        assert data["messages"][1]["parts"][0]["content"] == "Exported reply"
    else:
        assert "## User" in out.stdout and "Exported reply" in out.stdout
    assert SECRET not in out.stdout


def test_closed_stdout_stops_the_run_and_persists_it_interrupted(tmp_path: Path) -> None:
    with StreamServer([_slow_text_reply(200)]) as server:
        write_config(tmp_path, "openai", server.url)
        proc = spawn(tmp_path, "run", "count")
        _wait_for_stdout(proc, b"word3 ")
        assert proc.stdout is not None
        proc.stdout.close()  # the reader goes away, as `| head` does
        proc.wait(timeout=20)
        stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.returncode == 141, stderr
    assert "stdout was closed" in stderr and "Traceback" not in stderr
    assert (
        query("SELECT finish FROM message WHERE role = 'assistant'")[0]["finish"] == "interrupted"
    )
    text = "".join(str(p["content"]) for p in assistant_parts() if p["kind"] == "text")
    assert text.startswith("word0 word1 word2 word3 ") and "word199" not in text
