"""Hooks end to end in one process: a real engine, a real loopback provider replaying the
recorded edit conversation, real hook subprocesses, a real project folder."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from opencode.sessions.config import ConfigError, load_config
from opencode.sessions.engine import Engine
from opencode.sessions.events import ErrorOccurred, SessionEvent
from opencode.sessions.permissions_api import PermissionAnswer, PermissionRequest
from tests.engine.helpers import fixture, openai_sse, openai_text_chunks, opencode, write_config
from tests.support.stream_server import Reply, StreamServer


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "hello.txt").write_text("hello world\n")
    return project


def edit_replies() -> list[Reply]:
    return [
        Reply(body=fixture("openai_step1_edit_call.sse")),
        Reply(body=fixture("openai_step2_final.sse")),
    ]


async def never_ask(request: PermissionRequest) -> PermissionAnswer:
    raise AssertionError(f"unexpected permission question: {request}")


async def turn(
    project: Path, server: StreamServer, extra: str, **kwargs: object
) -> tuple[str, list[SessionEvent]]:
    write_config(project, "openai", server.url, extra)
    engine = Engine(load_config(project), project, allow_all=True)
    seen: list[SessionEvent] = []
    engine.bus.subscribe(seen.append)
    await engine.open(never_ask)
    try:
        await engine.start()
        result = await engine.send("Change world to there")
    finally:
        await engine.close()
    return result.finish, seen


def tool_message(server: StreamServer) -> str:
    messages = server.requests[1].json()["messages"]
    return str(next(m for m in messages if m["role"] == "tool")["content"])


def running(pid: int) -> bool:
    """Alive and not a zombie (a killed orphan waits for init to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def hook_log() -> list[dict[str, object]]:
    path = Path(os.environ["OPENCODE_DATA_DIR"]) / "hooks.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def hook(event: str, command: str, matcher: str = "edit", timeout: float | None = None) -> str:
    limit = f"\ntimeout = {timeout}" if timeout is not None else ""
    head = f"[[hooks.{event}]]\nmatcher = {json.dumps(matcher)}\n"
    return f"{head}command = {json.dumps(command)}{limit}\n"


async def test_pre_tool_use_exit_2_blocks_the_edit_and_tells_the_model(project: Path) -> None:
    with StreamServer(edit_replies()) as server:
        finish, _ = await turn(
            project, server, hook("PreToolUse", "echo 'edits are frozen today' >&2; exit 2")
        )
        assert finish == "stop"
        assert (project / "hello.txt").read_text() == "hello world\n", "file untouched"
        assert "edits are frozen today" in tool_message(server)
    [line] = hook_log()
    assert line["event"] == "PreToolUse" and line["exit_code"] == 2 and line["blocked"] is True


async def test_pre_tool_use_json_updated_input_rewrites_the_arguments(project: Path) -> None:
    script = 'cat > seen.json; echo \'{"updatedInput": {"new_string": "HOOKED"}}\''
    with StreamServer(edit_replies()) as server:
        finish, _ = await turn(project, server, hook("PreToolUse", script))
    assert finish == "stop"
    assert (project / "hello.txt").read_text() == "hello HOOKED\n"
    seen = json.loads((project / "seen.json").read_text())
    assert seen["hook_event_name"] == "PreToolUse" and seen["tool_name"] == "edit"
    assert seen["tool_input"]["new_string"] == "there" and seen["cwd"] == str(project)


async def test_a_config_deny_wins_over_an_approving_hook(project: Path) -> None:
    approve = 'echo ran > ran.txt; echo \'{"decision": "approve"}\''
    with StreamServer(edit_replies()) as server:
        await turn(project, server, hook("PreToolUse", approve) + '[permission]\nedit = "deny"\n')
        assert "Permission denied" in tool_message(server)
    assert (project / "hello.txt").read_text() == "hello world\n"
    assert not (project / "ran.txt").exists(), "a denied call never reaches the hook"


@pytest.mark.fault
async def test_a_hanging_hook_is_killed_with_its_group_and_the_turn_finishes(
    project: Path,
) -> None:
    script = "sleep 300 & echo $! > child.pid; echo $$ > hook.pid; wait"
    with StreamServer(edit_replies()) as server:
        started = time.monotonic()
        finish, seen = await turn(project, server, hook("PreToolUse", script, timeout=1))
        elapsed = time.monotonic() - started
    assert finish == "stop"
    assert elapsed < 30, "the 300 s sleep was not waited for"
    # A PreToolUse hook that cannot decide fails closed (it used to let the edit run).
    assert (project / "hello.txt").read_text() == "hello world\n", "fail closed: edit blocked"
    assert "did not finish within 1 s" in tool_message(server) and "blocked" in tool_message(server)
    for name in ("hook.pid", "child.pid"):
        assert not running(int((project / name).read_text())), name
    problems = [e.message for e in seen if isinstance(e, ErrorOccurred)]
    assert any("did not finish within 1 s and was killed" in p for p in problems)
    assert hook_log()[0]["timed_out"] is True
    assert hook_log()[0]["blocked"] is True


@pytest.mark.fault
async def test_a_timed_out_post_tool_use_hook_is_non_blocking(project: Path) -> None:
    with StreamServer(edit_replies()) as server:
        finish, seen = await turn(project, server, hook("PostToolUse", "sleep 300", timeout=1))
    assert finish == "stop" and (project / "hello.txt").read_text() == "hello there\n"
    problems = [e.message for e in seen if isinstance(e, ErrorOccurred)]
    assert any("did not finish within 1 s and was killed; the turn goes on" in p for p in problems)


@pytest.mark.fault
async def test_a_blocking_hook_with_a_background_child_still_blocks(project: Path) -> None:
    """exit 2 is the verdict even when a child started with ``&`` keeps stdout/stderr open:
    the hook process's own exit counts, not the pipes' end (this used to become a timeout,
    and the edit ran)."""
    script = "sleep 300 & echo $! > child.pid; echo 'no edits today' >&2; exit 2"
    with StreamServer(edit_replies()) as server:
        started = time.monotonic()
        finish, seen = await turn(project, server, hook("PreToolUse", script, timeout=60))
        elapsed = time.monotonic() - started
        assert "no edits today" in tool_message(server)
    assert finish == "stop"
    assert (project / "hello.txt").read_text() == "hello world\n", "blocked: edit did not run"
    assert elapsed < 60, "the verdict did not wait for the time limit"
    [line] = hook_log()
    assert line["exit_code"] == 2 and line["timed_out"] is False and line["blocked"] is True
    assert not running(int((project / "child.pid").read_text())), "the child holding the pipes"
    assert not [e for e in seen if isinstance(e, ErrorOccurred) and "did not finish" in e.message]


async def test_each_pre_tool_use_hook_sees_the_accumulated_rewrite(project: Path) -> None:
    """Hook 2 gets the whole input with hook 1's updatedInput merged in (not hook 1's partial
    dict), and the call runs with both rewrites."""
    first = 'echo \'{"updatedInput": {"new_string": "ONE"}}\''
    second = 'cat > seen2.json; echo \'{"updatedInput": {"new_string": "TWO"}}\''
    third = "cat > seen3.json"
    extra = hook("PreToolUse", first) + hook("PreToolUse", second) + hook("PreToolUse", third)
    with StreamServer(edit_replies()) as server:
        finish, _ = await turn(project, server, extra)
    assert finish == "stop"
    seen2 = json.loads((project / "seen2.json").read_text())["tool_input"]
    assert seen2["new_string"] == "ONE" and seen2["old_string"] == "world"
    assert Path(seen2["path"]).name == "hello.txt"
    seen3 = json.loads((project / "seen3.json").read_text())["tool_input"]
    assert seen3["new_string"] == "TWO" and Path(seen3["path"]).name == "hello.txt"
    assert (project / "hello.txt").read_text() == "hello TWO\n"


async def test_post_tool_use_receives_the_tool_response(project: Path) -> None:
    with StreamServer(edit_replies()) as server:
        await turn(project, server, hook("PostToolUse", "cat > post.json"))
    data = json.loads((project / "post.json").read_text())
    assert data["hook_event_name"] == "PostToolUse" and data["tool_name"] == "edit"
    assert data["tool_response"]["is_error"] is False
    assert data["tool_response"]["output"], "the tool's output reached the hook"


async def test_exit_1_is_a_non_blocking_error_shown_to_the_user(project: Path) -> None:
    with StreamServer(edit_replies()) as server:
        finish, seen = await turn(project, server, hook("PreToolUse", "echo oops >&2; exit 1"))
    assert finish == "stop" and (project / "hello.txt").read_text() == "hello there\n"
    problems = [e.message for e in seen if isinstance(e, ErrorOccurred)]
    assert any("failed with exit code 1: oops" in p for p in problems)


async def test_user_prompt_submit_can_block_and_nothing_is_sent(project: Path) -> None:
    with StreamServer([Reply(body=openai_text_chunks(["no"]))]) as server:
        finish, seen = await turn(
            project, server, hook("UserPromptSubmit", "echo 'no prompts on Friday' >&2; exit 2")
        )
        assert server.requests == []
    assert finish == "blocked"
    assert any(isinstance(e, ErrorOccurred) and "no prompts on Friday" in e.message for e in seen)


async def test_user_prompt_submit_stdout_is_added_context(project: Path) -> None:
    with StreamServer([Reply(body=openai_text_chunks(["ok"]))]) as server:
        await turn(project, server, hook("UserPromptSubmit", "echo BRANCH-IS-main"))
        system = server.requests[0].json()["messages"][0]["content"]
    assert "BRANCH-IS-main" in system


async def test_session_start_and_stop_hooks_run(project: Path) -> None:
    extra = hook("SessionStart", "cat > start.json") + hook("Stop", "cat > stop.json")
    with StreamServer([Reply(body=openai_text_chunks(["ok"]))]) as server:
        await turn(project, server, extra)
    assert json.loads((project / "start.json").read_text())["source"] == "startup"
    assert json.loads((project / "stop.json").read_text())["finish"] == "stop"


async def test_claude_settings_json_hooks_are_read(project: Path) -> None:
    (project / ".claude").mkdir()
    settings = {
        "hooks": {
            # Claude events we have no counterpart for are skipped, not a config error.
            "Notification": [{"hooks": [{"type": "command", "command": "true"}]}],
            "PreToolUse": [
                {
                    "matcher": "Edit|Write",
                    "hooks": [{"type": "command", "command": "echo claude-says-no >&2; exit 2"}],
                }
            ],
        }
    }
    (project / ".claude" / "settings.json").write_text(json.dumps(settings))
    local = {"hooks": {"UserPromptSubmit": [{"hooks": [{"command": "cat > l.json"}]}]}}
    (project / ".claude" / "settings.local.json").write_text(json.dumps(local))
    with StreamServer(edit_replies()) as server:
        await turn(project, server, "")
        assert "claude-says-no" in tool_message(server)
    assert json.loads((project / "l.json").read_text())["prompt"] == "Change world to there"
    assert (project / "hello.txt").read_text() == "hello world\n"


async def test_a_bad_hook_entry_is_a_config_error_naming_the_file(project: Path) -> None:
    with StreamServer([]) as server, pytest.raises(ConfigError, match="opencode.toml.*PreTool"):
        await turn(project, server, "[[hooks.PreTool]]\ncommand = 'x'\n")


def bash_call(command: str) -> Reply:
    """One streamed OpenAI tool call of ``bash`` with ``command``."""
    arguments = json.dumps({"command": command})
    chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "test-model",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "bash", "arguments": arguments},
                        }
                    ]
                },
                "finish_reason": None,
            }
        ],
    }
    done = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
    return Reply(body=openai_sse(chunk, done))


async def test_a_rewrite_into_a_denied_command_is_denied(project: Path) -> None:
    """updatedInput cannot steer a call around a deny rule: the rewritten call is judged again."""
    rewrite = 'echo \'{"updatedInput": {"command": "rm -f hello.txt"}}\''
    extra = hook("PreToolUse", rewrite, matcher="bash") + '[permission.bash]\n"rm *" = "deny"\n'
    with StreamServer([bash_call("ls"), Reply(body=openai_text_chunks(["ok"]))]) as server:
        finish, _ = await turn(project, server, extra)
        assert "Permission denied" in tool_message(server)
    assert finish == "stop" and (project / "hello.txt").exists()


def test_headless_run_reports_a_blocked_prompt_and_exits_1(project: Path) -> None:
    with StreamServer([Reply(body=openai_text_chunks(["no"]))]) as server:
        write_config(
            project, "openai", server.url, hook("UserPromptSubmit", "echo 'not today' >&2; exit 2")
        )
        run = opencode(project, "run", "hello")
        assert server.requests == []
    assert run.code == 1
    assert "prompt blocked by a UserPromptSubmit hook: not today" in run.stderr
