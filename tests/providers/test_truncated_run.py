"""`opencode run` on a reply cut off before its last event: the text received is saved, the
unfinished tool call never runs, the user reads why, and the exit code is 1. Each wire format,
cut mid-text and mid-tool-call, through a real subprocess and the real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.helpers import CONTENT_TYPE, EXT, fixture, opencode, query, write_config
from tests.support.stream_server import Reply, StreamServer

pytestmark = pytest.mark.fault

APIS = ["openai", "anthropic", "ollama"]

# Where each recorded reply is cut: the body ends cleanly (a proper end of the HTTP body) just
# before this marker, so only the wire format's own end is missing.
TEXT_CUT = {
    "openai": (b'"finish_reason":"stop"', "Hello! How can I help you today?"),
    "anthropic": (b"event: content_block_stop", "Hello! How can I help you today?"),
    "ollama": (b'"content":" because"', "The sky is blue"),
}
# Mid-tool-call: OpenAI's arguments are already whole (the finish chunk is missing: an old
# build ran the call), Anthropic's stop before the last fragment, Ollama's line is cut in two.
CALL_CUT = {
    "openai": b'"finish_reason":"tool_calls"',
    "anthropic": b'"partial_json":"\\"new_string',
    "ollama": b'"old_string":"world"',
}
TEXT_FIXTURE = {"openai": "openai_text.sse", "anthropic": "anthropic_text.sse"}


def cut_before(raw: bytes, marker: bytes, whole_line: bool = True) -> bytes:
    at = raw.index(marker)
    if whole_line:  # back to the start of that event's line (and its "event:" line)
        at = raw.rindex(b"\n\n", 0, at) + 2 if b"\n\n" in raw[:at] else raw.rindex(b"\n", 0, at) + 1
    return raw[:at]


def reply(api: str, body: bytes) -> Reply:
    return Reply(body=body, headers={"content-type": CONTENT_TYPE[EXT[api]]})


def assert_truncated_run(project: Path, api: str, url: str, text: str | None) -> None:
    write_config(project, api, url)
    run = opencode(project, "run", "--yes", "Change world to there")
    assert run.code == 1, (run.stdout, run.stderr)
    assert "ended before" in run.stderr and "the text so far is saved" in run.stderr
    assert (project / "hello.txt").read_text() == "hello world\n"  # the edit never ran
    parts = query(
        "SELECT p.kind, p.content FROM part p JOIN message m ON p.message_id = m.id "
        "WHERE m.role = 'assistant' ORDER BY m.id, p.seq"
    )
    kinds = [p["kind"] for p in parts]
    assert "tool_call" not in kinds and "tool_result" not in kinds
    assert kinds[-1] == "error"
    if text is not None:
        assert "".join(p["content"] for p in parts if p["kind"] == "text") == text
    finishes = [m["finish"] for m in query("SELECT finish FROM message WHERE role='assistant'")]
    assert finishes == ["error"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "hello.txt").write_text("hello world\n")
    return project


@pytest.mark.parametrize("api", APIS)
def test_cut_mid_text_saves_the_text_and_exits_1(api: str, project: Path) -> None:
    marker, text = TEXT_CUT[api]
    raw = fixture(TEXT_FIXTURE.get(api, "ollama_text.ndjson"))
    body = cut_before(raw, marker)
    with StreamServer([reply(api, body)]) as server:
        assert_truncated_run(project, api, server.url, text)
        assert len(server.requests) == 1  # a cut reply is not silently sent again


@pytest.mark.parametrize("api", APIS)
def test_cut_mid_tool_call_never_runs_the_call(api: str, project: Path) -> None:
    raw = fixture(f"{api}_step1_edit_call.{EXT[api]}")
    body = cut_before(raw, CALL_CUT[api], whole_line=api != "ollama")
    with StreamServer([reply(api, body)]) as server:
        assert_truncated_run(project, api, server.url, None)
        assert len(server.requests) == 1
