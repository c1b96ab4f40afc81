"""Allow rules and paths bash resolves differently from a naive join (review H1, L1):
``~+``/``~-``, ``/dev/fd/..``, ``/proc/self/*``, symlinks at any depth, the session's cwd."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opencode.sessions.config import PermissionConfig, SandboxConfig
from opencode.sessions.tools.bashparse import network_allowed
from opencode.sessions.tools.permissions import Permissions

pytestmark = pytest.mark.fault

RULES = (("echo *", "allow"), ("rm *", "allow"), ("cp *", "allow"), ("cat *", "allow"))


def unsandboxed(project: Path) -> Permissions:
    return Permissions(PermissionConfig(bash=RULES), project, sandbox=SandboxConfig(enabled=False))


@pytest.mark.parametrize(
    "command",
    [
        "echo hi > /dev/fd/../../../etc/x",
        "echo x > ~+/../y",
        "rm -rf ~+/..",
        "rm -rf ~-",
        "rm -rf ~-/x",
        "cp a ~+1/x",
        "echo x > /proc/self/cwd/../y",
        "cp a /proc/self/root/etc/x",
        "cp a /dev/stdin/../x",
        "echo x > ~nosuchuser_zz/x",
        "rm -rf docs/ext/victim",
        "cp a docs/ext/x",
        "cp a docs/deep/er/ext/x",
        "echo x > docs/ext/x",
        "rm -rf procdir/x",
    ],
)
def test_paths_that_reach_out_are_not_inside(project: Path, command: str) -> None:
    outside = project.parent / "outside"
    outside.mkdir()
    (project / "docs" / "deep" / "er").mkdir(parents=True)
    os.symlink(outside, project / "docs" / "ext")
    os.symlink(outside, project / "docs" / "deep" / "er" / "ext")
    os.symlink("/proc/self/cwd", project / "procdir")
    verdict = unsandboxed(project).explain_bash(command)
    assert verdict.action == "ask", (command, verdict.reason)


@pytest.mark.parametrize(
    "command",
    [
        "echo hi > /dev/null",
        "echo hi > /dev/fd/2",
        "echo hi 2> /dev/stderr",
        "cp a docs/b",
        "rm -rf build/x",
    ],
)
def test_plain_paths_stay_allowed(project: Path, command: str) -> None:
    (project / "docs").mkdir()
    verdict = unsandboxed(project).explain_bash(command)
    assert verdict.action == "allow", (command, verdict.reason)


def test_network_rules_judge_paths_against_the_session_cwd(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The process runs elsewhere; `../x` from the session's cwd is outside it.
    elsewhere = tmp_path / "a" / "b"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    assert network_allowed("git fetch origin", ("git fetch*",), project)
    os.symlink(tmp_path, project / "up")
    assert not network_allowed("git fetch $(cat up/x)", ("git fetch*",), project)
