"""``opencode workflow ...`` as a real subprocess: shell steps through the bash tool on a temp
project, agent steps against a loopback server, rows read back from the real SQLite file."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.engine.helpers import (
    fixture,
    openai_text_chunks,
    opencode,
    query,
    spawn,
    whole_db_text,
    write_config,
)
from tests.support.stream_server import Reply, StreamServer


def _flow(project: Path, name: str, text: str) -> Path:
    project.mkdir(parents=True, exist_ok=True)
    path = project / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_cycle_is_refused_with_exit_2_and_nothing_runs(tmp_path: Path) -> None:
    _flow(
        tmp_path,
        "flow.toml",
        'allow = ["bash"]\n[steps.first]\nshell = "touch ran-first"\n'
        '[steps.a]\nshell = "touch ran-a"\nneeds = ["b", "first"]\n'
        '[steps.b]\nshell = "touch ran-b"\nneeds = ["a"]\n',
    )
    result = opencode(tmp_path, "workflow", "run", "flow.toml")
    assert result.code == 2
    assert "dependency cycle: a -> b -> a" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("ran-*"))
    assert query("SELECT COUNT(*) AS n FROM workflow_run")[0]["n"] == 0


def test_independent_steps_overlap_and_statuses_persist(tmp_path: Path) -> None:
    _flow(
        tmp_path,
        "flow.toml",
        'allow = ["bash"]\n'
        '[steps.left]\nshell = "sleep 1; echo left > left.out"\n'
        '[steps.right]\nshell = "sleep 1; echo right > right.out"\n'
        '[steps.join]\nshell = "cat left.out right.out"\nneeds = ["left", "right"]\n',
    )
    result = opencode(tmp_path, "workflow", "run", "flow.toml", "--format", "json")
    assert result.code == 0, result.stderr
    run = json.loads(result.stdout)
    steps = {s["name"]: s for s in run["steps"]}
    assert {s["status"] for s in steps.values()} == {"ok"}
    left, right, join = steps["left"], steps["right"], steps["join"]
    # Both sleeps were in flight at once; join started after both ended.
    assert left["started_at"] < right["finished_at"] and right["started_at"] < left["finished_at"]
    assert join["started_at"] >= max(left["finished_at"], right["finished_at"])
    assert "left\nright" in join["output"]
    rows = query("SELECT status FROM workflow_run WHERE id = ?", (run["id"],))
    assert rows[0]["status"] == "ok"
    listed = opencode(tmp_path, "workflow", "list")
    assert listed.code == 0 and "3/3" in listed.stdout


def test_retry_runs_the_debug_step_then_reverifies(tmp_path: Path) -> None:
    _flow(
        tmp_path,
        "flow.toml",
        'allow = ["bash"]\n'
        '[steps.verify]\nshell = "echo try >> tries; test -f fixed"\n'
        'on_failure = "retry"\nretries = 3\non_failure_step = "debug"\n'
        '[steps.debug]\nshell = "test $(wc -l < tries) -ge 2 && touch fixed || true"\n'
        '[steps.docs]\nshell = "echo docs > docs.out"\nneeds = ["verify"]\n',
    )
    result = opencode(tmp_path, "workflow", "run", "flow.toml")
    assert result.code == 0, result.stderr
    assert (tmp_path / "tries").read_text().count("try") == 3
    rows = {
        r["name"]: (r["status"], r["attempts"])
        for r in query("SELECT name, status, attempts FROM workflow_step")
    }
    assert rows == {"verify": ("ok", 3), "debug": ("ok", 2), "docs": ("ok", 1)}
    assert "attempt 1 failed; running debug before retrying" in result.stderr


def test_a_failed_run_exits_1_and_says_how_to_resume(tmp_path: Path) -> None:
    _flow(
        tmp_path,
        "flow.toml",
        'allow = ["bash"]\n[steps.bad]\nshell = "echo nope; exit 3"\n'
        '[steps.after]\nshell = "touch after"\nneeds = ["bad"]\n',
    )
    result = opencode(tmp_path, "workflow", "run", "flow.toml")
    assert result.code == 1
    assert "FAILED" in result.stdout and "workflow resume 1" in result.stdout
    assert not (tmp_path / "after").exists()
    shown = opencode(tmp_path, "workflow", "show", "1")
    assert "exit code 3" in shown.stdout and "nope" in shown.stdout
    rows = {r["name"]: r["status"] for r in query("SELECT name, status FROM workflow_step")}
    assert rows == {"bad": "failed", "after": "skipped"}


def test_a_deny_rule_blocks_a_shell_step_even_when_bash_is_allowed(tmp_path: Path) -> None:
    (tmp_path / "opencode.toml").write_text('[permission.bash]\n"rm *" = "deny"\n')
    _flow(tmp_path, "flow.toml", 'allow = ["bash"]\n[steps.clean]\nshell = "rm -f keep.txt"\n')
    (tmp_path / "keep.txt").write_text("precious")
    result = opencode(tmp_path, "workflow", "run", "flow.toml")
    assert result.code == 1
    assert (tmp_path / "keep.txt").exists()
    error = query("SELECT error FROM workflow_step")[0]["error"]
    assert "denied" in error and "deny rule wins" in error


def test_named_workflow_and_slash_command(tmp_path: Path) -> None:
    _flow(
        tmp_path / ".opencode" / "workflows",
        "hello.toml",
        'allow = ["bash"]\n[steps.hi]\nshell = "echo hi > hi.out"\n',
    )
    result = opencode(tmp_path, "run", "/workflow run hello")
    assert result.code == 0, result.stderr
    assert (tmp_path / "hi.out").read_text() == "hi\n"
    missing = opencode(tmp_path, "workflow", "run", "nope")
    assert missing.code == 2 and "workflows here: hello" in missing.stderr


def test_agent_steps_run_a_session_turn_each(tmp_path: Path) -> None:
    reply = Reply(body=openai_text_chunks(["All ", "good."]))
    with StreamServer([reply]) as server:
        write_config(tmp_path, "openai", server.url)
        _flow(
            tmp_path,
            "flow.toml",
            '[steps.review]\nagent = "review"\nprompt = "Review it"\ntools = ["read"]\n'
            '[steps.docs]\nagent = "docs"\nprompt = "Document it"\nneeds = ["review"]\n',
        )
        result = opencode(tmp_path, "workflow", "run", "flow.toml", "--format", "json")
        assert result.code == 0, result.stderr
        requests = [json.loads(r.body) for r in server.requests]
    steps = {s["name"]: s for s in json.loads(result.stdout)["steps"]}
    assert steps["review"]["output"] == "All good." and steps["review"]["session_id"]
    assert steps["review"]["session_id"] != steps["docs"]["session_id"]
    sessions = query("SELECT id, title FROM session ORDER BY created_at")
    assert [s["title"] for s in sessions] == [
        "workflow flow: review",
        "workflow flow: docs",
    ]
    # The review step offered only the tools it listed, with its profile's system prompt (the
    # review profile of sessions.agents); the docs step got the docs profile's tools.
    from opencode.sessions.agents import BUILTIN_PROFILES

    assert [t["function"]["name"] for t in requests[0]["tools"]] == ["read"]
    system = requests[0]["messages"][0]
    assert system["role"] == "system"
    assert BUILTIN_PROFILES["review"].prompt in system["content"]
    docs_tools = {t["function"]["name"] for t in requests[1]["tools"]}
    assert docs_tools == set(BUILTIN_PROFILES["docs"].tools or ())


def test_a_provider_error_fails_the_agent_step_without_leaking_the_key(tmp_path: Path) -> None:
    refused = Reply(
        body=fixture("openai_401.json"),
        status=401,
        headers={"content-type": "application/json"},
        chunked=False,
    )
    with StreamServer([refused]) as server:
        write_config(tmp_path, "openai", server.url)
        _flow(
            tmp_path,
            "flow.toml",
            '[steps.review]\nprompt = "Review it"\n[steps.docs]\nprompt = "x"\n'
            'needs = ["review"]\n',
        )
        result = opencode(tmp_path, "workflow", "run", "flow.toml")
    assert result.code == 1
    rows = {r["name"]: r for r in query("SELECT name, status, error FROM workflow_step")}
    assert rows["review"]["status"] == "failed" and "401" in rows["review"]["error"]
    assert rows["docs"]["status"] == "skipped"
    assert "sk-test-SECRET-1234" not in whole_db_text()
    assert "sk-test-SECRET-1234" not in result.stdout + result.stderr


@pytest.mark.fault
def test_kill_9_mid_workflow_then_resume_runs_only_unfinished_steps(tmp_path: Path) -> None:
    # `slow` sleeps on its first run only (a marker says it ran before), so the test can kill
    # the process while it is in flight and the resumed run completes quickly.
    _flow(
        tmp_path,
        "flow.toml",
        'allow = ["bash"]\nmax_parallel = 1\n'
        '[steps.first]\nshell = "echo x >> first.count"\n'
        '[steps.slow]\nneeds = ["first"]\n'
        'shell = "echo x >> slow.count; test -f slow.once || { touch slow.once; sleep 60; }"\n'
        '[steps.last]\nneeds = ["slow"]\nshell = "echo x >> last.count"\n',
    )
    proc = spawn(tmp_path, "workflow", "run", "flow.toml")
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "slow.once").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the slow step never started"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    statuses = {r["name"]: r["status"] for r in query("SELECT name, status FROM workflow_step")}
    assert statuses == {"first": "ok", "slow": "running", "last": "pending"}
    status = opencode(tmp_path, "workflow", "status", "--format", "json")
    assert json.loads(status.stdout)["status"] == "interrupted"

    resumed = opencode(tmp_path, "workflow", "run", "flow.toml", "--resume")
    assert resumed.code == 0, resumed.stderr
    assert "resumed; done: first" in resumed.stderr
    assert (tmp_path / "first.count").read_text() == "x\n"  # not run again
    assert (tmp_path / "slow.count").read_text() == "x\nx\n"  # the unfinished step re-ran
    assert (tmp_path / "last.count").read_text() == "x\n"
    assert [r["id"] for r in query("SELECT id FROM workflow_run")] == [1]
    rows = {r["name"]: r["status"] for r in query("SELECT name, status FROM workflow_step")}
    assert rows == {"first": "ok", "slow": "ok", "last": "ok"}
    again = opencode(tmp_path, "workflow", "resume", "1")
    assert again.code == 1 and "already finished ok" in again.stderr


def test_resume_refuses_a_changed_file(tmp_path: Path) -> None:
    flow = _flow(tmp_path, "flow.toml", 'allow = ["bash"]\n[steps.a]\nshell = "exit 1"\n')
    assert opencode(tmp_path, "workflow", "run", "flow.toml").code == 1
    flow.write_text('allow = ["bash"]\n[steps.a]\nshell = "exit 0"\n', encoding="utf-8")
    result = opencode(tmp_path, "workflow", "resume", "1")
    assert result.code == 2 and "changed since run 1" in result.stderr


@pytest.mark.fault
def test_ctrl_c_marks_the_run_interrupted_and_says_how_to_resume(tmp_path: Path) -> None:
    _flow(
        tmp_path,
        "flow.toml",
        'allow = ["bash"]\n[steps.a]\nshell = "touch started; sleep 60"\n',
    )
    proc = spawn(tmp_path, "workflow", "run", "flow.toml")
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "started").exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert b"continue it with `opencode workflow resume 1`" in err
    assert query("SELECT status FROM workflow_run")[0]["status"] == "interrupted"
    step = query("SELECT status, error FROM workflow_step")[0]
    assert (step["status"], step["error"]) == ("pending", "interrupted")
