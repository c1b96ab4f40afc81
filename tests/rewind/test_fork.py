"""Forking a session: a new session (parent link, "Fork of ...") with a copy of the history
up to the fork point; both sessions then go on independently. Real ``opencode`` subprocesses,
a loopback provider that makes tool calls, a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.helpers import opencode, query, write_config
from tests.rewind.script import text_reply, tool_reply
from tests.support.stream_server import StreamServer


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "hello.txt").write_text("hello world\n")
    return project


def user_texts(body: dict) -> list[str]:  # type: ignore[type-arg]
    return [m["content"] for m in body["messages"] if m["role"] == "user"]


def run(project: Path, *args: str) -> dict:  # type: ignore[type-arg]
    result = opencode(project, *args, "--format", "json")
    assert result.code == 0, result.stderr
    data: dict = json.loads(result.stdout)  # type: ignore[type-arg]
    return data


def test_fork_then_continue_both_sessions_independently(project: Path) -> None:
    with StreamServer(
        [
            tool_reply("write", path="a.txt", content="from the original\n"),
            text_reply("wrote a.txt"),
        ]
    ) as server:
        write_config(project, "openai", server.url)
        first = opencode(project, "run", "--yes", "--format", "json", "first")
        assert first.code == 0, first.stderr
        source = first.of_type("session")[0]["session_id"]

        fork = run(project, "session", "fork", source)
        assert fork["parent_id"] == source and fork["id"] != source
        assert fork["title"].startswith("Fork of ")

        server.add(text_reply("in the fork"))
        in_fork = opencode(project, "run", "--yes", "-s", fork["id"], "go on in the fork")
        assert in_fork.code == 0, in_fork.stderr
        sent = server.requests[-1].json()
        assert user_texts(sent) == ["first", "go on in the fork"]
        tool_results = [m for m in sent["messages"] if m["role"] == "tool"]
        assert len(tool_results) == 1, "the copied tool call and its result travel together"

        server.add(text_reply("in the original"))
        in_source = opencode(project, "run", "--yes", "-s", source, "go on in the original")
        assert in_source.code == 0, in_source.stderr
        assert user_texts(server.requests[-1].json()) == ["first", "go on in the original"]

    shown_fork = run(project, "session", "show", fork["id"])
    shown_source = run(project, "session", "show", source)
    fork_users = [m for m in shown_fork["messages"] if m["role"] == "user"]
    source_users = [m for m in shown_source["messages"] if m["role"] == "user"]
    assert [m["parts"][0]["content"] for m in fork_users] == ["first", "go on in the fork"]
    assert [m["parts"][0]["content"] for m in source_users] == ["first", "go on in the original"]
    own_ids = {m["id"] for m in shown_fork["messages"]} & {
        m["id"] for m in shown_source["messages"]
    }
    assert own_ids == set(), "copies, not shared rows"

    # The fork can undo the write it inherited; the original's undo data is untouched.
    rewind = run(project, "session", "rewind", fork["id"], "--to", fork_users[0]["id"], "--code")
    assert [f["action"] for f in rewind["files"]] == ["delete"]
    assert not (project / "a.txt").exists()
    marked = query(
        "SELECT session_id FROM file_change WHERE rewound_at IS NOT NULL ORDER BY session_id"
    )
    assert [r["session_id"] for r in marked] == [fork["id"]]


def test_fork_at_a_message_keeps_only_what_came_before(project: Path) -> None:
    with StreamServer([text_reply("one"), text_reply("two")]) as server:
        write_config(project, "openai", server.url)
        first = opencode(project, "run", "--format", "json", "first")
        source = first.of_type("session")[0]["session_id"]
        assert opencode(project, "run", "-s", source, "second").code == 0
    messages = run(project, "session", "show", source)["messages"]
    second = [m for m in messages if m["role"] == "user"][1]["id"]

    fork = run(project, "session", "fork", source, "--at", second)
    copied = run(project, "session", "show", fork["id"])["messages"]
    assert [(m["role"], m["parts"][0]["content"]) for m in copied] == [
        ("user", "first"),
        ("assistant", "one"),
    ]
    listed = run(project, "session", "list")
    assert {s["id"] for s in listed} == {source, fork["id"]}

    nothing = opencode(project, "session", "fork", source, "--at", messages[0]["id"])
    assert nothing.code != 0 and "nothing comes before" in nothing.stderr
    unknown = opencode(project, "session", "fork", "ses_nope")
    assert unknown.code != 0 and "no session 'ses_nope'" in unknown.stderr
