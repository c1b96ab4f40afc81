"""Deny rules and code the parser cannot see (review H2): a shell reading a script from a
file or stdin, ``source``, ``alias``, ``trap``, ``BASH_ENV``, ``su``/``unshare``/``chroot``...
are asked about (headless: denied) whenever a deny rule exists, also under ``--yes``."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.sessions.config import PermissionConfig, SandboxConfig
from opencode.sessions.tools.permissions import Permissions

pytestmark = pytest.mark.fault

DENY_RM = (("*", "allow"), ("rm *", "deny"), ("rm", "deny"))

HIDDEN = [
    "bash <<EOF\nrm -rf x\nEOF",
    "echo 'rm -rf x' | bash",
    "bash s.sh",
    "sh < s.sh",
    "zsh s.sh",
    "dash",
    "ksh s.sh",
    ". ./s.sh",
    "source s.sh",
    "shopt -s expand_aliases\nalias r='rm -rf'\nr x",
    "alias r='rm -rf'",
    "BASH_ENV=s.sh bash -c true",
    "env BASH_ENV=s.sh bash -c true",
    "export BASH_ENV=s.sh",
    "ENV=s.sh sh -c true",
    "PROMPT_COMMAND='rm x' bash -i",
    "su -c 'rm x'",
    "script -qc 'rm x' /dev/null",
    "unshare -r rm x",
    "chroot / rm x",
    "parallel rm ::: x",
    "git -c alias.r='!rm -rf x' r",
    "git -c core.fsmonitor='rm x' status",
    "trap 'rm x' EXIT",
    "find . -name a -exec sh {} \\;",
    "xargs bash < list",
    "sudo bash s.sh",
]
ALWAYS_ASKED = [
    "echo ${x:-$(rm x)}",
    'echo "${x:-$(rm x)}"',
    "echo ${x:-`rm x`}",
    "echo ${x/a/$(rm x)}",
    "echo ${PATH#$(rm x)}",
    "y=${x:-$(rm x)}",
]


@pytest.mark.parametrize("command", HIDDEN + ALWAYS_ASKED)
def test_hidden_code_is_asked_about_with_deny_rules_even_under_yes(
    project: Path, command: str
) -> None:
    config = PermissionConfig(bash=DENY_RM)
    for allow_all in (False, True):
        permissions = Permissions(config, project, allow_all=allow_all, sandbox=SandboxConfig())
        verdict = permissions.explain_bash(command)
        assert verdict.action == "ask", (command, allow_all, verdict.reason)


@pytest.mark.parametrize("command", ALWAYS_ASKED)
def test_substitutions_hidden_in_braces_never_match_an_allow_rule(
    project: Path, command: str
) -> None:
    config = PermissionConfig(bash=(("echo *", "allow"), ("y=*", "allow")))
    verdict = Permissions(config, project, sandbox=SandboxConfig()).explain_bash(command)
    assert verdict.action == "ask", verdict.reason


@pytest.mark.parametrize("command", ["bash build.sh", "source .venv/bin/activate && pytest"])
def test_without_deny_rules_scripts_run_in_the_sandbox_as_before(
    project: Path, command: str
) -> None:
    verdict = Permissions(PermissionConfig(), project, sandbox=SandboxConfig()).explain_bash(
        command
    )
    assert verdict.action == "allow", verdict.reason


def test_plain_commands_still_allowed_with_deny_rules(project: Path) -> None:
    permissions = Permissions(PermissionConfig(bash=DENY_RM), project, sandbox=SandboxConfig())
    for command in ("ls -la", "bash -c 'echo hi'", "git status", "echo hi"):
        assert permissions.explain_bash(command).action == "allow", command
    assert permissions.explain_bash("bash -c 'rm x'").action == "deny"
