"""``@path`` mentions and ``!command`` shell mode, headless: what the model receives (the
request body a real loopback server got), what the store keeps (a real SQLite file), and the
attacker's mentions (outside the project, a symlink out, ``.env``) that must never be attached
without the read tool's permission decision."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opencode.sessions.config import load_config
from opencode.sessions.engine import Engine
from opencode.sessions.mentions import FileIndex, find_mentions, project_files
from opencode.sessions.permissions_api import PermissionAnswer, PermissionRequest
from tests.engine.helpers import openai_text_chunks, opencode, write_config
from tests.support.stream_server import Reply, StreamServer

SECRET_LINE = "API_TOKEN=do-not-send-0xC0FFEE"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "README.md").write_text("# Demo\nThe readme says MARKER-README-42.\n")
    (project / "src" / "app.py").write_text("print('MARKER-APP')\n")
    (project / ".env").write_text(SECRET_LINE + "\n")
    (project / "blob.bin").write_bytes(b"\x00\x01\x02binary" * 10)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("MARKER-OUTSIDE\n")
    (project / "link.txt").symlink_to(outside / "secret.txt")
    return project


@pytest.fixture
def server() -> Iterator[StreamServer]:
    reply = Reply(body=openai_text_chunks(["Got ", "it."]))
    with StreamServer([reply]) as server:
        yield server


def sent_user_text(server: StreamServer, index: int = -1) -> str:
    body = server.requests[index].json()
    users = [m for m in body["messages"] if m["role"] == "user"]
    content = users[-1]["content"]
    return content if isinstance(content, str) else json.dumps(content)


def db_rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(engine.config.db_path)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


class Asked:
    """An asker that records every question and gives one answer."""

    def __init__(self, answer: PermissionAnswer) -> None:
        self.answer = answer
        self.questions: list[PermissionRequest] = []

    async def __call__(self, request: PermissionRequest) -> PermissionAnswer:
        self.questions.append(request)
        return self.answer


async def open_engine(project: Path, url: str, asker: Any) -> Engine:
    write_config(project, "openai", url)
    engine = Engine(load_config(project), project)
    await engine.open(asker)
    return engine


# ---------------------------------------------------------------------- parsing


def test_mentions_are_found_with_punctuation_and_quotes_and_not_in_emails() -> None:
    text = 'see @README.md, @"docs/a b.md" and (@src/) but not me@example.com or a@b'
    assert [m.path for m in find_mentions(text)] == ["README.md", "docs/a b.md", "src/"]


def test_rank_puts_basename_matches_first_and_shorter_paths_first() -> None:
    index = FileIndex(
        ["docs/readme/notes.md", "README.md", "src/reader.py", "a/b/README.md", "src/", "rd.txt"]
    )
    assert index.rank("readme")[:2] == ["README.md", "a/b/README.md"]
    assert index.rank("rdr") == ["src/reader.py"]
    assert index.rank("dnm") == ["docs/readme/notes.md"]  # only the whole path matches
    assert index.rank("src/") == ["src/", "src/reader.py"]
    assert index.rank("zzz") == []


@pytest.fixture
def git_project(project: Path) -> Path:
    (project / ".gitignore").write_text("build/\n")
    (project / "build").mkdir()
    (project / "build" / "out.o").write_text("x")
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run(["git", "-C", str(project), "add", "README.md"], check=True)
    return project


async def test_project_files_in_git_lists_tracked_and_untracked_but_not_ignored(
    git_project: Path,
) -> None:
    project = git_project
    files = await project_files(project)
    assert "README.md" in files and "src/app.py" in files and "src/" in files
    assert not any(f.startswith("build") for f in files)


async def test_project_files_outside_git_honour_gitignore(project: Path) -> None:
    (project / ".gitignore").write_text("*.bin\n")
    files = await project_files(project)
    assert "README.md" in files and "src/app.py" in files
    assert "blob.bin" not in files


# ---------------------------------------------------------------------- attaching


async def test_mention_attaches_file_content_keeps_typed_text_and_stores_its_own_part(
    project: Path, server: StreamServer
) -> None:
    engine = await open_engine(project, server.url, Asked("deny"))
    try:
        await engine.send("explain @README.md and @src/", mentions=True)
        sent = sent_user_text(server)
        assert sent.startswith("explain @README.md and @src/")
        assert "MARKER-README-42" in sent  # the file's content
        assert "app.py" in sent  # the directory's listing
        assert engine.session is not None
        rows = db_rows(
            engine,
            "SELECT p.kind, p.content, p.tool_name FROM part p JOIN message m"
            " ON p.message_id = m.id WHERE m.role = 'user' ORDER BY p.seq",
        )
        assert rows[0] == ("text", "explain @README.md and @src/", None)
        assert [(k, t) for k, _, t in rows[1:]] == [
            ("tool_call", "read"),
            ("tool_result", "read"),
            ("tool_call", "list"),
            ("tool_result", "list"),
        ]
        # The next turn (rebuilt from the store) still carries the attachment.
        await engine.send("and again")
        body = json.dumps(server.requests[-1].json())
        assert "MARKER-README-42" in body
    finally:
        await engine.close()


async def test_binary_file_is_not_attached_and_the_model_is_told(
    project: Path, server: StreamServer
) -> None:
    engine = await open_engine(project, server.url, Asked("deny"))
    try:
        await engine.send("what is @blob.bin", mentions=True)
        sent = sent_user_text(server)
        assert "[@blob.bin was not attached" in sent and "binary" in sent
    finally:
        await engine.close()


@pytest.mark.parametrize(
    ("mention", "marker"),
    [
        ("@.env", SECRET_LINE),
        ("@link.txt", "MARKER-OUTSIDE"),  # a symlink inside pointing out of the project
        ("@../outside/secret.txt", "MARKER-OUTSIDE"),
    ],
)
async def test_sensitive_or_outside_mentions_are_asked_and_refused_when_denied(
    project: Path, server: StreamServer, mention: str, marker: str
) -> None:
    asker = Asked("deny")
    engine = await open_engine(project, server.url, asker)
    try:
        await engine.send(f"look at {mention}", mentions=True)
        assert len(asker.questions) == 1 and asker.questions[0].tool == "read"
        sent = sent_user_text(server)
        assert marker not in sent
        assert "was not attached: Permission denied" in sent
        assert not any(marker in str(row) for row in db_rows(engine, "SELECT * FROM part"))
    finally:
        await engine.close()


async def test_absolute_system_paths_go_through_the_same_question(
    project: Path, server: StreamServer
) -> None:
    asker = Asked("deny")
    engine = await open_engine(project, server.url, asker)
    try:
        await engine.send(
            "read @/etc/passwd and @../../../../../../etc/passwd please", mentions=True
        )
        # One file, asked about once (the same resolved path is attached once).
        assert [q.subject for q in asker.questions] == ["/etc/passwd"]
        assert "root:" not in sent_user_text(server)
    finally:
        await engine.close()


async def test_outside_mention_allowed_by_the_user_is_attached(
    project: Path, server: StreamServer
) -> None:
    engine = await open_engine(project, server.url, Asked("allow_once"))
    try:
        await engine.send("check @../outside/secret.txt", mentions=True)
        assert "MARKER-OUTSIDE" in sent_user_text(server)
    finally:
        await engine.close()


async def test_mention_of_nothing_is_plain_text(project: Path, server: StreamServer) -> None:
    engine = await open_engine(project, server.url, Asked("deny"))
    try:
        await engine.send("thanks @alice for the idea", mentions=True)
        assert sent_user_text(server) == "thanks @alice for the idea"
    finally:
        await engine.close()


async def test_text_nobody_typed_attaches_nothing(project: Path, server: StreamServer) -> None:
    """A subagent's prompt, a workflow step, a custom command's expansion: text a model or a
    program wrote never pulls files in by naming them."""
    asker = Asked("allow_once")
    engine = await open_engine(project, server.url, asker)
    try:
        await engine.send("summarise @README.md and @../outside/secret.txt")
        sent = sent_user_text(server)
        assert sent == "summarise @README.md and @../outside/secret.txt"
        assert asker.questions == []
    finally:
        await engine.close()


def test_opencode_run_expands_mentions_into_the_request(project: Path) -> None:
    with StreamServer([Reply(body=openai_text_chunks(["ok"]))]) as server:
        write_config(project, "openai", server.url)
        run = opencode(project, "run", "--format", "json", "explain @README.md")
        assert run.code == 0, run.stderr
        assert "MARKER-README-42" in sent_user_text(server)
        results = run.of_type("tool_result")
        assert results and results[0]["tool"] == "read" and results[0]["status"] == "completed"


def test_opencode_run_refuses_env_mention_without_permission(project: Path) -> None:
    with StreamServer([Reply(body=openai_text_chunks(["ok"]))]) as server:
        write_config(project, "openai", server.url)
        run = opencode(project, "run", "--format", "json", "explain @.env")
        assert run.code == 0, run.stderr
        assert SECRET_LINE not in json.dumps(server.requests[0].json())
        assert SECRET_LINE not in run.stdout
        assert run.of_type("tool_result")[0]["status"] == "denied"


def test_opencode_run_on_ask_fail_stops_before_sending_an_env_mention(project: Path) -> None:
    with StreamServer([Reply(body=openai_text_chunks(["ok"]))]) as server:
        write_config(project, "openai", server.url)
        run = opencode(project, "run", "--on-ask", "fail", "explain @.env")
        assert run.code == 3, run.stderr
        assert "read on '.env' needs permission" in run.stderr
        assert server.requests == []  # nothing was sent
        assert SECRET_LINE not in run.stdout + run.stderr


# ---------------------------------------------------------------------- ! shell mode


async def test_shell_command_runs_without_asking_and_joins_the_next_turn(
    project: Path, server: StreamServer
) -> None:
    engine = await open_engine(project, server.url, Asked("deny"))
    try:
        finished = await engine.shell("echo SHELL-OUT-$((6*7)); exit 3")
        assert finished.finish == "stop"
        assert server.requests == []  # no model call for a ! command
        await engine.send("what did it print?")
        sent = json.dumps(server.requests[0].json())
        assert "SHELL-OUT-42" in sent and "echo SHELL-OUT" in sent
        assert engine.session is not None
        texts = db_rows(
            engine,
            "SELECT p.content FROM part p JOIN message m ON p.message_id = m.id"
            " WHERE m.role = 'user' AND p.kind = 'text' ORDER BY m.id",
        )
        assert texts[0] == ("!echo SHELL-OUT-$((6*7)); exit 3",)
    finally:
        await engine.close()

    # A resumed session (a new engine on the same file) still has it.
    with StreamServer([Reply(body=openai_text_chunks(["ok"]))]) as second:
        resumed = await open_engine(project, second.url, Asked("deny"))
        try:
            await resumed.start(continue_latest=True)
            await resumed.send("and now?")
            assert "SHELL-OUT-42" in json.dumps(second.requests[0].json())
        finally:
            await resumed.close()


async def test_shell_output_is_scrubbed_of_secrets(
    project: Path, server: StreamServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secretvalue1234567890")
    engine = await open_engine(project, server.url, Asked("deny"))
    try:
        await engine.shell('echo "$GITHUB_TOKEN"')
        stored = str(db_rows(engine, "SELECT content FROM part"))
        assert "ghp_secretvalue1234567890" not in stored
    finally:
        await engine.close()


def test_mentions_module_has_no_textual_import() -> None:
    code = "import opencode.sessions.mentions, opencode.sessions.shell_mode, sys; "
    code += "print('textual' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert out.stdout.strip() == "False", out.stderr


async def test_bang_command_session_exports_readably_and_rewinds_its_file_changes(
    project: Path, server: StreamServer
) -> None:
    engine = await open_engine(project, server.url, Asked("deny"))
    try:
        await engine.shell("echo made > made.txt")
        await engine.send("explain @README.md", mentions=True)
        assert (project / "made.txt").exists()
        assert engine.session is not None
        session_id = engine.session.id
        bang_id = db_rows(engine, "SELECT id FROM message WHERE role = 'user' ORDER BY id")[0][0]
    finally:
        await engine.close()
    exported = await asyncio.to_thread(opencode, project, "session", "export", session_id)
    assert exported.code == 0, exported.stderr
    # What was typed, then the attachment as its own fenced block.
    assert "!echo made > made.txt" in exported.stdout
    assert "explain @README.md" in exported.stdout and "MARKER-README-42" in exported.stdout
    rewound = await asyncio.to_thread(
        opencode, project, "session", "rewind", session_id, "--to", bang_id, "--code"
    )
    assert rewound.code == 0, rewound.stderr + rewound.stdout
    assert not (project / "made.txt").exists()  # the ! command's change was undone
