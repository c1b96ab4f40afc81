"""Rewinding a session's files and conversation: write, edit and bash changes (modified,
created, deleted, in a new subfolder) come back from the stored before-images; a file someone
else changed since is reported and left alone unless --force; --dry-run changes nothing; it
works outside git; rewound messages leave history but stay in the store. A real engine, real
tools (bash in its sandbox), a real SQLite file, a real loopback provider."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from opencode.sessions.engine import Engine
from opencode.sessions.history import history_messages
from opencode.sessions.rewind.actions import rewind
from opencode.sessions.rewind.restore import RewindError, summary
from tests.engine.helpers import opencode
from tests.rewind.script import db_rows, open_engine, text_reply, tool_reply, user_messages
from tests.support.stream_server import StreamServer

BASH = (
    "rm gone.txt && mkdir -p sub/deeper && printf 'new\\n' > sub/deeper/new.txt"
    " && printf 'more\\n' >> keep.txt"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "proj"  # not a git repository: rewind must not need one
    project.mkdir()
    (project / "hello.txt").write_text("hello world\n")
    (project / "keep.txt").write_text("keep\n")
    (project / "gone.txt").write_text("to be deleted\n")
    return project


@pytest.fixture
def server() -> Iterator[StreamServer]:
    with StreamServer([]) as server:
        yield server


def snapshot_of(project: Path) -> dict[str, str]:
    return {
        p.relative_to(project).as_posix(): p.read_text()
        for p in sorted(project.rglob("*"))
        if p.is_file() and p.name != "opencode.toml"
    }


async def two_turns(project: Path, server: StreamServer) -> tuple[Engine, str, list[str]]:
    """Turn 1 writes notes.md; turn 2 edits hello.txt and runs bash (delete, create in a new
    subfolder, append)."""
    server.add(
        tool_reply("write", path="notes.md", content="# notes\n"),
        text_reply("wrote notes"),
        tool_reply("edit", path="hello.txt", old_string="world", new_string="there"),
        tool_reply("bash", command=BASH),
        text_reply("done"),
    )
    engine = await open_engine(project, server.url)
    await engine.send("first")
    await engine.send("second")
    assert engine.session is not None
    sid = engine.session.id
    await engine.flush()
    return engine, sid, user_messages(engine, sid)


async def test_rewind_restores_write_edit_and_bash_changes(
    project: Path, server: StreamServer
) -> None:
    original = snapshot_of(project)
    engine, sid, (first, second) = await two_turns(project, server)
    assert snapshot_of(project) == {
        "hello.txt": "hello there\n",
        "keep.txt": "keep\nmore\n",
        "notes.md": "# notes\n",
        "sub/deeper/new.txt": "new\n",
    }
    bash_rows = db_rows(
        engine, "SELECT path, existed, after_hash FROM file_change WHERE source = 'bash'"
    )
    assert sorted((Path(r["path"]).name, r["existed"]) for r in bash_rows) == [
        ("gone.txt", 1),
        ("keep.txt", 1),
        ("new.txt", 0),
    ]
    assert all(r["after_hash"] is not None for r in bash_rows)

    # To just before the second message: notes.md (turn 1) stays, turn 2 is undone.
    _, plan = await rewind(engine.store, sid, second)
    assert snapshot_of(project) == {**original, "notes.md": "# notes\n"}
    assert not (project / "sub").exists(), "the folder bash created, emptied, is gone"
    actions = {Path(f.path).name: f.action for f in plan.files}
    assert actions == {
        "hello.txt": "restore",
        "gone.txt": "recreate",
        "new.txt": "delete",
        "keep.txt": "restore",
    }
    assert plan.messages[0] == second

    # Then to just before the first: notes.md goes too; turn 2's rows are not replayed.
    _, plan = await rewind(engine.store, sid, first)
    assert snapshot_of(project) == original
    assert [Path(f.path).name for f in plan.files] == ["notes.md"]
    await engine.close()


async def test_conversation_rewind_marks_messages_and_history_skips_them(
    project: Path, server: StreamServer
) -> None:
    engine, sid, (first, second) = await two_turns(project, server)
    before = db_rows(engine, "SELECT COUNT(*) AS n FROM message WHERE session_id = ?", (sid,))
    _, plan = await rewind(engine.store, sid, second, code=False)
    assert (project / "hello.txt").read_text() == "hello there\n", "--chat leaves files"
    assert plan.files == []
    kept = await engine.repo.messages(sid)
    assert [m.id for m in kept][-1] < second and all(m.rewound_at is None for m in kept)
    every = await engine.repo.messages(sid, include_rewound=True)
    assert len(every) == before[0]["n"], "nothing is deleted"
    marked = [m for m in every if m.rewound_at is not None]
    assert marked[0].id == second and len(marked) == len(every) - len(kept)
    assert [m.content for m in history_messages(every) if m.role == "user"] == ["first"]

    # The next turn continues from the rewound point: the model never sees "second".
    server.add(text_reply("again"))
    await engine.send("second, differently")
    sent = server.requests[-1].json()["messages"]
    assert [m["content"] for m in sent if m["role"] == "user"] == [
        "first",
        "second, differently",
    ]
    await engine.close()


async def test_a_file_changed_by_someone_else_is_reported_not_overwritten(
    project: Path, server: StreamServer
) -> None:
    engine, sid, (first, _) = await two_turns(project, server)
    (project / "hello.txt").write_text("the user's own edit\n")
    _, plan = await rewind(engine.store, sid, first, chat=False)
    skipped = {Path(f.path).name: f.reason for f in plan.files if f.action == "skip"}
    assert list(skipped) == ["hello.txt"] and "changed since" in skipped["hello.txt"]
    assert (project / "hello.txt").read_text() == "the user's own edit\n"
    assert (project / "gone.txt").read_text() == "to be deleted\n", "the rest is rewound"
    assert "hello.txt: changed since the session left it" in summary(plan, project, dry_run=False)

    _, plan = await rewind(engine.store, sid, first, chat=False, force=True)
    assert [Path(f.path).name for f in plan.files] == ["hello.txt"]
    assert (project / "hello.txt").read_text() == "hello world\n"
    await engine.close()


async def test_dry_run_changes_nothing(project: Path, server: StreamServer) -> None:
    engine, sid, (first, _) = await two_turns(project, server)
    files = snapshot_of(project)
    marks = "SELECT COUNT(*) AS n FROM message WHERE rewound_at IS NOT NULL"
    _, plan = await rewind(engine.store, sid, first, dry_run=True)
    assert snapshot_of(project) == files
    assert db_rows(engine, marks)[0]["n"] == 0
    assert (
        db_rows(engine, "SELECT COUNT(*) AS n FROM file_change WHERE rewound_at IS NOT NULL")[0][
            "n"
        ]
        == 0
    )
    assert {f.action for f in plan.files} == {"restore", "recreate", "delete"}
    assert summary(plan, project, dry_run=True).startswith("Would rewind")
    await engine.close()


async def test_rewind_to_a_tool_call_undoes_that_call_and_later_only(
    project: Path, server: StreamServer
) -> None:
    engine, sid, _ = await two_turns(project, server)
    bash_call = db_rows(
        engine, "SELECT id FROM part WHERE kind = 'tool_call' AND tool_name = 'bash'"
    )[0]["id"]
    _, plan = await rewind(engine.store, sid, bash_call, chat=False)
    assert (project / "hello.txt").read_text() == "hello there\n", "the edit came before"
    assert (project / "gone.txt").exists() and not (project / "sub").exists()
    assert {Path(f.path).name for f in plan.files} == {"gone.txt", "new.txt", "keep.txt"}
    await engine.close()


async def test_unknown_or_rewound_targets_are_refused_with_a_hint(
    project: Path, server: StreamServer
) -> None:
    engine, sid, (_, second) = await two_turns(project, server)
    with pytest.raises(RewindError, match="no message or tool call 'msg_nope'.*session show"):
        await rewind(engine.store, sid, "msg_nope")
    await rewind(engine.store, sid, second)
    # Again (say with --force after a skip): fine while nothing follows it.
    await rewind(engine.store, sid, second, force=True)
    server.add(text_reply("a new turn"))
    await engine.send("something else")
    with pytest.raises(RewindError, match="rewound and the conversation went on since"):
        await rewind(engine.store, sid, second)
    await engine.close()


async def test_snapshot_budget_exceeded_is_reported(project: Path, server: StreamServer) -> None:
    (project / "big.bin").write_bytes(b"x" * 5000)
    server.add(
        tool_reply("bash", command="printf 'y' >> big.bin && printf 'k\\n' >> keep.txt"),
        text_reply("done"),
    )
    engine = await open_engine(project, server.url, "[rewind]\nsnapshot_max_file_bytes = 1000\n")
    await engine.send("change them")
    assert engine.session is not None
    sid = engine.session.id
    await engine.flush()
    meta = json.loads(
        db_rows(engine, "SELECT metadata FROM part WHERE kind = 'tool_result'")[0]["metadata"]
    )["snapshot"]
    assert meta["uncovered_changes"] == ["big.bin (larger than snapshot_max_file_bytes=1000)"]
    assert meta["not_covered_count"] == 1
    _, plan = await rewind(engine.store, sid, user_messages(engine, sid)[0])
    assert (project / "keep.txt").read_text() == "keep\n"
    assert (project / "big.bin").read_bytes() == b"x" * 5000 + b"y", "no before-image: kept"
    text = summary(plan, project, dry_run=False)
    assert "big.bin (larger than snapshot_max_file_bytes=1000): no before-image" in text
    await engine.close()


async def test_cli_rewind_prints_what_it_did(project: Path, server: StreamServer) -> None:
    engine, sid, (first, _) = await two_turns(project, server)
    await engine.close()
    dry = opencode(project, "session", "rewind", sid, "--to", first, "--dry-run")
    assert dry.code == 0, dry.stderr
    assert "would be deleted" in dry.stdout and "notes.md" in dry.stdout
    assert (project / "notes.md").exists()
    run = opencode(project, "session", "rewind", sid, "--to", first, "--format", "json")
    assert run.code == 0, run.stderr
    data = json.loads(run.stdout)
    assert {f["path"]: f["action"] for f in data["files"]} == {
        "notes.md": "delete",
        "hello.txt": "restore",
        "gone.txt": "recreate",
        "sub/deeper/new.txt": "delete",
        "keep.txt": "restore",
    }
    assert data["prompt"] == "first"
    shown = opencode(project, "session", "show", sid, "--format", "json")
    assert shown.code == 0 and json.loads(shown.stdout)["messages"] == []
    every = opencode(project, "session", "show", sid, "--all", "--format", "json")
    assert len(json.loads(every.stdout)["messages"]) > 0
    bad = opencode(project, "session", "rewind", sid, "--to", "msg_nope")
    assert bad.code != 0 and "no message or tool call" in bad.stderr


async def test_a_change_with_no_after_image_needs_force(tmp_path: Path) -> None:
    """Rows written before after-images existed: rewind cannot tell whether someone else
    changed the file since, so it asks for --force rather than guess."""
    from opencode.sessions.events import MessageStarted, PartStarted
    from opencode.sessions.ids import new_id
    from opencode.sessions.rewind.actions import store_emitter
    from opencode.sessions.store.db import Store
    from opencode.sessions.store.sessions import SessionRepo

    work = tmp_path / "work"
    work.mkdir()
    (work / "a.txt").write_text("after\n")
    store = await Store.open(tmp_path / "old.db")
    repo = SessionRepo(store)
    session = await repo.create(cwd=work, model="m/m")
    message = new_id("msg")
    emit = store_emitter(store)
    await emit(MessageStarted(session.id, message, "user"))
    await emit(PartStarted(session.id, message, new_id("prt"), 0, "text", "go"))
    await repo.record_file_change(session.id, "call_0", work / "a.txt", b"before\n")
    _, plan = await rewind(store, session.id, message)
    assert [(f.action, f.reason.split(";")[0]) for f in plan.files] == [
        ("skip", "no record of how the session left it")
    ]
    assert (work / "a.txt").read_text() == "after\n"
    _, plan = await rewind(store, session.id, message, chat=False, force=True)
    assert (work / "a.txt").read_text() == "before\n"
    await store.close()
