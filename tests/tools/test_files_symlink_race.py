"""A directory symlink flipped between the permission decision and the write (or during it)
never sends a file tool's write outside the place that was approved.

The path is resolved once, for the permission subject, and carried to ``run`` in
``ToolContext.approved``; the file is opened component by component with ``O_NOFOLLOW`` from
``/``, so a link swapped in anywhere on the approved path is refused, not followed.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path

import pytest

from opencode.sessions.config import PermissionConfig, load_config
from opencode.sessions.engine import Engine
from opencode.sessions.permissions_api import PermissionAnswer, PermissionRequest
from opencode.sessions.tools.base import ToolContext, ToolError
from opencode.sessions.tools.files import EditTool, ReadTool, WriteTool
from opencode.sessions.tools.permissions import Permissions
from tests.engine.helpers import openai_sse, openai_text_chunks, write_config
from tests.support.stream_server import Reply, StreamServer
from tests.tools.conftest import Recorder

ITERATIONS = 400


def _layout(tmp_path: Path) -> tuple[Path, Path, Path]:
    ws = tmp_path / "ws"
    real = ws / "realdir"
    outside = tmp_path / "outside"
    real.mkdir(parents=True)
    outside.mkdir()
    (real / "note.txt").write_text("inside 0\n")
    (outside / "note.txt").write_text("outside secret\n")
    (ws / "sub").symlink_to("realdir")
    return ws, real, outside


def _flip(ws: Path, outside: Path, stop: threading.Event) -> None:
    """Flip ``ws/sub`` between ``realdir`` and the outside folder, atomically, until told."""
    flips = 0
    while not stop.is_set() and flips < 2_000_000:  # bounded even if the test hangs
        for target in ("realdir", str(outside)):
            tmp = ws / f".flip-{flips}"
            os.symlink(target, tmp)
            os.replace(tmp, ws / "sub")
            flips += 1


def test_a_flipping_directory_link_never_sends_writes_outside(tmp_path: Path) -> None:
    ws, real, outside = _layout(tmp_path)
    permissions = Permissions(PermissionConfig(), ws)
    stop = threading.Event()
    flipper = threading.Thread(target=_flip, args=(ws, outside, stop), daemon=True)
    recorder = Recorder()
    written = refused = 0

    async def go() -> None:
        nonlocal written, refused
        for i in range(ITERATIONS):
            tool = (WriteTool(), EditTool(), ReadTool())[i % 3]
            if isinstance(tool, WriteTool):
                args = {"path": "sub/note.txt", "content": f"inside {i}\n"}
            elif isinstance(tool, EditTool):
                args = {"path": "sub/note.txt", "old_string": "inside", "new_string": "inside "}
            else:
                args = {"path": "sub/note.txt"}
            subject = tool.permission_subject(args, ws)
            decision, _ = permissions.explain(tool.name, subject)
            if decision != "allow":
                continue  # resolved outside at decision time: asked, and we say no
            ctx = ToolContext(ws, "ses", f"call_{i}", recorder, approved=subject)
            try:
                result = await tool.run(args, ctx)
            except ToolError:
                refused += 1
                continue
            written += 1
            assert "outside secret" not in result.output, "read another file's bytes"

    flipper.start()
    try:
        asyncio.run(go())
    finally:
        stop.set()
        flipper.join(timeout=10)
    assert sorted(p.name for p in outside.iterdir()) == ["note.txt"]
    assert (outside / "note.txt").read_text() == "outside secret\n"
    assert written > 0, "some calls must have been allowed and done"
    for path, before, _ in recorder.changes:
        assert path.is_relative_to(real), f"undo recorded for {path}"
        assert before is None or b"outside secret" not in before


async def test_the_approved_path_is_used_even_when_the_link_flips_after_the_decision(
    tmp_path: Path, ctx: ToolContext
) -> None:
    ws, real, outside = _layout(tmp_path)
    subject = WriteTool().permission_subject({"path": "sub/new.txt"}, ws)
    assert subject.subject == "realdir/new.txt"
    (ws / "sub").unlink()
    (ws / "sub").symlink_to(outside)
    run_ctx = ToolContext(ws, "ses", "call", ctx.record_change, approved=subject)
    await WriteTool().run({"path": "sub/new.txt", "content": "x\n"}, run_ctx)
    assert (real / "new.txt").read_text() == "x\n"
    assert not (outside / "new.txt").exists()


@pytest.mark.parametrize("tool_name", ["write", "edit", "read"])
async def test_a_directory_on_the_approved_path_replaced_by_a_link_is_refused(
    tmp_path: Path, ctx: ToolContext, tool_name: str
) -> None:
    ws, real, outside = _layout(tmp_path)
    tool = {"write": WriteTool(), "edit": EditTool(), "read": ReadTool()}[tool_name]
    args = {
        "write": {"path": "realdir/note.txt", "content": "pwned\n"},
        "edit": {"path": "realdir/note.txt", "old_string": "secret", "new_string": "pwned"},
        "read": {"path": "realdir/note.txt"},
    }[tool_name]
    subject = tool.permission_subject(args, ws)
    real.rename(ws / "moved")
    real.symlink_to(outside)  # realdir itself is now a link out
    run_ctx = ToolContext(ws, "ses", "call", ctx.record_change, approved=subject)
    with pytest.raises(ToolError, match="realdir on the way to realdir/note.txt is a symlink"):
        await tool.run(args, run_ctx)
    assert (outside / "note.txt").read_text() == "outside secret\n"
    assert sorted(p.name for p in outside.iterdir()) == ["note.txt"]


async def test_write_still_creates_missing_parents_and_names_a_file_in_the_way(
    tmp_path: Path, ctx: ToolContext
) -> None:
    ws, real, _ = _layout(tmp_path)
    await WriteTool().run({"path": "a/b/c.txt", "content": "deep\n"}, ctx_for(ws, ctx))
    assert (ws / "a" / "b" / "c.txt").read_text() == "deep\n"
    with pytest.raises(ToolError, match="is a regular file, not a directory"):
        await WriteTool().run({"path": "realdir/note.txt/x", "content": "no\n"}, ctx_for(ws, ctx))


def ctx_for(ws: Path, ctx: ToolContext) -> ToolContext:
    return ToolContext(ws, "ses", "call", ctx.record_change)


def _write_call(path: str, content: str) -> Reply:
    arguments = json.dumps({"path": path, "content": content})
    call = {"index": 0, "id": "call_1", "type": "function"}
    call["function"] = {"name": "write", "arguments": arguments}  # type: ignore[assignment]
    chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "test-model",
        "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}],
    }
    done = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
    return Reply(body=openai_sse(chunk, done))


async def test_engine_carries_the_decided_path_to_the_write(tmp_path: Path) -> None:
    """End to end: the link flips while the person is being asked (after the subject was
    resolved); the write lands where the question said, not where the link now points."""
    ws, real, outside = _layout(tmp_path)
    asked: list[str] = []

    async def flip_then_allow(request: PermissionRequest) -> PermissionAnswer:
        asked.append(request.subject)
        (ws / "sub").unlink()
        (ws / "sub").symlink_to(outside)
        return "allow_once"

    replies = [_write_call("sub/pwn.txt", "hello\n"), Reply(body=openai_text_chunks(["done"]))]
    with StreamServer(replies) as server:
        write_config(ws, "openai", server.url, '[permission]\nwrite = "ask"\n')
        engine = Engine(load_config(ws), ws)
        await engine.open(flip_then_allow)
        try:
            await engine.start()
            await engine.send("write it")
        finally:
            await engine.close()
    assert asked == ["realdir/pwn.txt"]
    assert (real / "pwn.txt").read_text() == "hello\n"
    assert not (outside / "pwn.txt").exists()
