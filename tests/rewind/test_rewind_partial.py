"""Rewind removes only directories the session made, and a rewind that had to skip files
says so: the conversation stays, the CLI exits 3, unless --force.

A real engine, real write and bash tools (bash in its sandbox), a real SQLite file, a real
loopback provider; the CLI as a real subprocess."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from opencode.sessions.rewind.actions import rewind
from opencode.sessions.rewind.restore import FileStep, RewindPlan, Target, apply_files, summary
from tests.engine.helpers import opencode
from tests.rewind.script import db_rows, open_engine, text_reply, tool_reply, user_messages
from tests.support.stream_server import StreamServer

BASH = "mkdir -p out/x logs && printf 'y\\n' > out/x/y.txt && printf 'z\\n' > logs/z.txt"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "hello.txt").write_text("hello world\n")
    # Empty directories the user had before the session (an output dir, a mount point).
    (project / "logs").mkdir()
    (project / "mnt" / "cache").mkdir(parents=True)
    return project


@pytest.fixture
def server() -> Iterator[StreamServer]:
    with StreamServer([]) as server:
        yield server


def visible_messages(engine: object, sid: str) -> int:
    rows = db_rows(
        engine,  # type: ignore[arg-type]
        "SELECT COUNT(*) AS n FROM message WHERE session_id = ? AND rewound_at IS NULL",
        (sid,),
    )
    return int(rows[0]["n"])


async def test_only_directories_the_session_made_are_removed(
    project: Path, server: StreamServer
) -> None:
    server.add(
        tool_reply("write", path="logs/a.txt", content="a\n"),
        tool_reply("write", path="mnt/cache/b.txt", content="b\n"),
        tool_reply("write", path="fresh/deep/c.txt", content="c\n"),
        tool_reply("bash", command=BASH),
        text_reply("done"),
    )
    engine = await open_engine(project, server.url)
    await engine.send("make files")
    assert engine.session is not None
    sid = engine.session.id
    await engine.flush()
    (first,) = user_messages(engine, sid)
    assert (project / "fresh/deep/c.txt").exists() and (project / "out/x/y.txt").exists()

    _, plan = await rewind(engine.store, sid, first)
    await engine.close()
    assert {Path(f.path).name: f.action for f in plan.files} == {
        "a.txt": "delete",
        "b.txt": "delete",
        "c.txt": "delete",
        "y.txt": "delete",
        "z.txt": "delete",
    }
    assert (project / "logs").is_dir(), "an empty dir from before the session stays"
    assert (project / "mnt" / "cache").is_dir()
    assert not (project / "fresh").exists(), "the write tool made fresh/deep: removed"
    assert not (project / "out").exists(), "bash made out/x: removed"
    removed = sorted(d for f in plan.files for d in f.removed_dirs)
    assert [Path(d).relative_to(project).as_posix() for d in removed] == [
        "fresh",
        "fresh/deep",
        "out",
        "out/x",
    ]


def test_a_plan_with_no_record_of_made_directories_removes_none(tmp_path: Path) -> None:
    """The review's probe: a delete step alone (no ``created_dirs`` known, as in sessions
    recorded before they were kept) leaves the emptied directories in place."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.txt").write_text("a\n")
    target = Target("ses", "msg", None, "user", 0.0, "x")
    plan = RewindPlan(target, True, False, files=[FileStep(str(tmp_path / "logs/a.txt"), "delete")])
    apply_files(plan, tmp_path)
    assert not (tmp_path / "logs" / "a.txt").exists()
    assert (tmp_path / "logs").is_dir()
    assert plan.files[0].removed_dirs == []


async def _turns_then_user_edit(project: Path, server: StreamServer) -> tuple[object, str, str]:
    server.add(
        tool_reply("edit", path="hello.txt", old_string="world", new_string="there"),
        tool_reply("write", path="notes.md", content="# notes\n"),
        text_reply("done"),
    )
    engine = await open_engine(project, server.url)
    await engine.send("first")
    assert engine.session is not None
    sid = engine.session.id
    await engine.flush()
    (first,) = user_messages(engine, sid)
    await engine.close()
    (project / "hello.txt").write_text("the user's own edit\n")
    return engine, sid, first


async def test_skipped_files_keep_the_conversation_and_exit_3_unless_force(
    project: Path, server: StreamServer
) -> None:
    engine, sid, first = await _turns_then_user_edit(project, server)
    before = visible_messages(engine, sid)
    assert before > 0

    run = opencode(project, "session", "rewind", sid, "--to", first, "--format", "json")
    assert run.code == 3, (run.stdout, run.stderr)
    data = json.loads(run.stdout)
    assert data["skipped"] == ["hello.txt"]
    assert data["chat_held"] and "1 file skipped" in data["chat_held"]
    assert data["messages_rewound"] == []
    assert visible_messages(engine, sid) == before, "the conversation was left as it is"
    assert not (project / "notes.md").exists(), "the rest of the files were rewound"
    assert (project / "hello.txt").read_text() == "the user's own edit\n"

    text = opencode(project, "session", "rewind", sid, "--to", first)
    assert text.code == 3
    assert "hello.txt: changed since the session left it" in text.stdout + text.stderr
    assert "conversation: left as it is: 1 file skipped" in text.stdout + text.stderr

    forced = opencode(project, "session", "rewind", sid, "--to", first, "--force")
    assert forced.code == 0, (forced.stdout, forced.stderr)
    assert (project / "hello.txt").read_text() == "hello world\n"
    assert visible_messages(engine, sid) == 0


async def test_forced_rewind_that_still_skips_says_the_conversation_went_ahead(
    project: Path, server: StreamServer
) -> None:
    engine, sid, first = await _turns_then_user_edit(project, server)
    (project / "hello.txt").unlink()
    (project / "hello.txt").mkdir()  # a directory in the way: even --force skips it
    store_engine = await open_engine(project, server.url)
    try:
        _, plan = await rewind(store_engine.store, sid, first, force=True)
    finally:
        await store_engine.close()
    assert [Path(f.path).name for f in plan.skipped] == ["hello.txt"]
    assert plan.chat_held is None and plan.messages
    assert "rewound although 1 file(s) were skipped (--force)" in summary(
        plan, project, dry_run=False
    )
    assert visible_messages(engine, sid) == 0
