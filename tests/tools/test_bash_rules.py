"""Bash permission rules on the parsed command: a table of commands under the example rules,
every bypass from issue 10 included, and the precedence of deny over --yes/--allow/grants."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.sessions.config import PermissionConfig, SandboxConfig
from opencode.sessions.tools.base import PermissionSubject
from opencode.sessions.tools.bashparse import parse
from opencode.sessions.tools.permissions import Permissions

# The example opencode.toml's [permission.bash], plus the "rm*" deny of the hostile run.
EXAMPLE = (
    ("*", "ask"),
    ("git status*", "allow"),
    ("git diff*", "allow"),
    ("ls*", "allow"),
    ("git push*", "deny"),
    ("rm*", "deny"),
)

TABLE: list[tuple[str, str]] = [
    # plain matches
    ("ls", "allow"),
    ("ls -la src", "allow"),
    ("git status --short", "allow"),
    ("git diff HEAD~1..HEAD", "allow"),
    ("git diff -- src/a.py", "allow"),
    ("make test", "ask"),
    ("ls | git diff --stat", "allow"),  # every part allowed
    ("ls && git status", "allow"),
    ("ls 2>&1 >/dev/null", "allow"),  # /dev/null and fd duplication are not files outside
    ("ls > listing.txt", "allow"),  # inside the workspace
    ("ls <(git status)", "allow"),  # the inner command is allowed too
    # writes outside the workspace keep an allow rule from applying
    ("ls <(touch ../x)", "ask"),
    ("ls >(cat > ../x)", "ask"),
    ("ls >../x", "ask"),
    ("ls >>/etc/x", "ask"),
    ("ls &>~/x", "ask"),
    ("ls > $HOME/x", "ask"),
    ("git diff --output=../x", "ask"),
    ("git diff --output ../x", "ask"),
    ("git diff --no-index /etc/passwd a", "ask"),
    ("ls ~", "ask"),
    ("ls $(rm x)", "deny"),  # a denied inner command denies the whole line
    ("ls `git push`", "deny"),
    ("ls $(make)", "ask"),
    ("ls; make", "ask"),
    ("ls & make", "ask"),
    ("ls\nmake", "ask"),
    ("./ls", "ask"),  # a workspace script named like an allowed program is not that program
    ("PATH=. ls", "ask"),
    # deny by resolved executable, in any part and any spelling
    ("git push origin main", "deny"),
    ("true; rm -f f", "deny"),
    ("ls && rm -rf build", "deny"),
    ("command rm f", "deny"),
    ("/bin/rm f", "deny"),
    ("\\rm f", "deny"),
    ("r''m f", "deny"),
    ("env FOO=1 rm f", "deny"),
    ("xargs rm < list", "deny"),
    ("find . -name x -exec rm {} ;", "deny"),
    ("sudo rm f", "deny"),
    ("sudo -u root /usr/bin/rm f", "deny"),
    ("nice -n 5 rm f", "deny"),
    ("timeout 5 rm f", "deny"),
    ("nohup rm f &", "deny"),
    ("exec rm f", "deny"),
    ("bash -c 'rm x'", "deny"),
    ("sh -c 'ls; rm x'", "deny"),
    ("bash -lc 'git push'", "deny"),
    ("eval 'rm x'", "deny"),
    ("eval rm x", "deny"),
    ("f() { rm x; }; f", "deny"),
    ("for f in a b; do rm $f; done", "deny"),
    ("if true; then rm x; fi", "deny"),
    ("(cd sub && rm x)", "deny"),
    ("echo $(sudo rm x)", "deny"),
    # cannot be judged: asked, never allowed by prefix
    ("$(echo rm) f", "ask"),
    ("ls $(echo", "ask"),  # bashlex cannot parse it
    ("case a in a) ls;; esac", "ask"),  # bashlex does not support case
    ("bash -c 'case x in x) ls;; esac'", "ask"),
    ("env -S 'ls x'", "ask"),
    # bash transforms these words before running them: not judged by their text
    ("$'\\x72m' f", "ask"),
    ("{rm,f}", "ask"),
    ("/bin/r? f", "ask"),
    ("/bin/r[m] f", "ask"),
    ("sudo {rm,f}", "ask"),
    ("bash -c $'rm\\x20f'", "ask"),
    ("eval {rm,f}", "ask"),
    ("ls $'\\x2e\\x2e/x'", "ask"),
    ("ls /e*", "ask"),
    ("ls '*.py' \\*.txt", "allow"),  # quoted or escaped: literal, inside the workspace
    ("bash -c 'ls *.py'", "ask"),  # bash itself is asked under "*"; the inner ls is fine
    ("x=$(rm y)", "deny"),
]


def rules(project: Path, enabled: bool = True, **kw: object) -> Permissions:
    config = PermissionConfig(bash=EXAMPLE)
    return Permissions(config, project, sandbox=SandboxConfig(enabled=enabled), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("command", "expected"), TABLE, ids=[c for c, _ in TABLE])
def test_example_rules(project: Path, command: str, expected: str) -> None:
    verdict = rules(project).explain_bash(command)
    assert verdict.action == expected, (verdict.reason, [(p.text, p.action) for p in verdict.parts])


def test_the_table_is_large_enough() -> None:
    assert len(TABLE) >= 40


@pytest.mark.parametrize(
    "command",
    [c for c, e in TABLE if e == "deny"],
)
def test_deny_beats_yes_allow_and_grants(project: Path, command: str) -> None:
    assert rules(project, allow_all=True).decide("bash", PermissionSubject(command)) == "deny"
    assert rules(project, allow={"bash"}).decide("bash", PermissionSubject(command)) == "deny"
    granted = rules(project)
    granted.grant_session("bash", command)
    granted.grant_session("bash", "*")
    assert granted.decide("bash", PermissionSubject(command)) == "deny"


def test_yes_allows_what_is_not_denied(project: Path) -> None:
    p = rules(project, allow_all=True)
    assert p.explain("bash", PermissionSubject("make test")) == ("allow", "--yes")
    assert p.decide("bash", PermissionSubject("ls >../x")) == "allow"


def test_yes_does_not_cover_an_unparseable_command_while_deny_rules_exist(project: Path) -> None:
    action, reason = rules(project, allow_all=True).explain("bash", PermissionSubject("ls $(x"))
    assert action == "ask" and "deny rules" in reason
    for hidden in ("{rm,f}", "/bin/r? f", "$'\\x72m' f", "sudo {rm,f}"):
        assert rules(project, allow_all=True).decide("bash", PermissionSubject(hidden)) == "ask"
    # The exact text granted for the session was seen by the user: that one is allowed.
    granted = rules(project)
    granted.grant_session("bash", "ls $(x")
    assert granted.decide("bash", PermissionSubject("ls $(x")) == "allow"
    granted.grant_session("bash", "*")
    assert granted.decide("bash", PermissionSubject("make $(x")) == "ask"
    no_deny = Permissions(PermissionConfig(bash=(("*", "ask"),)), project, allow_all=True)
    assert no_deny.decide("bash", PermissionSubject("ls $(x")) == "allow"


def test_default_is_allow_in_the_sandbox_and_ask_outside_it(project: Path) -> None:
    inside = Permissions(PermissionConfig(), project, sandbox=SandboxConfig())
    outside = Permissions(PermissionConfig(), project, sandbox=SandboxConfig(enabled=False))
    action, reason = inside.explain("bash", PermissionSubject("make"))
    assert action == "allow" and "sandboxed with bwrap" in reason
    action, reason = outside.explain("bash", PermissionSubject("make"))
    assert action == "ask" and "unsandboxed" in reason and "enabled = false" in reason
    # A deny rule still applies inside the sandbox; an unparseable command is still asked.
    denying = Permissions(PermissionConfig(bash=(("rm*", "deny"),)), project)
    assert denying.decide("bash", PermissionSubject("rm -rf x")) == "deny"
    assert denying.decide("bash", PermissionSubject("make $(x")) == "ask"


def test_a_part_without_a_rule_takes_the_default(project: Path) -> None:
    config = PermissionConfig(bash=(("ls*", "allow"),))
    sandboxed = Permissions(config, project, sandbox=SandboxConfig())
    assert sandboxed.decide("bash", PermissionSubject("ls; make")) == "allow"
    bare = Permissions(config, project, sandbox=SandboxConfig(enabled=False))
    assert bare.decide("bash", PermissionSubject("ls; make")) == "ask"
    assert bare.decide("bash", PermissionSubject("ls")) == "allow"


def test_explain_names_each_part(project: Path) -> None:
    verdict = rules(project).explain_bash("ls && command rm -f x | git status")
    assert verdict.action == "deny"
    assert [(p.text, p.action) for p in verdict.parts] == [
        ("ls", "allow"),
        ("command rm -f x", "deny"),
        ("git status", "allow"),
    ]
    assert "runs 'rm -f x'" in verdict.parts[1].reason
    assert "'command rm -f x'" in verdict.reason


def test_symlinked_redirect_target_is_outside(project: Path) -> None:
    (project / "up").symlink_to(project.parent)
    assert rules(project).decide("bash", PermissionSubject("ls > up/x")) == "ask"
    parsed = parse("ls > up/x", project)
    assert parsed.parts[0].outside == [">up/x"]
    # Arguments too: `ls*` allowed must not cover listing (or, for a writer, writing) there.
    assert rules(project).decide("bash", PermissionSubject("ls up/etc")) == "ask"
    assert rules(project).decide("bash", PermissionSubject("ls up")) == "ask"
    assert rules(project).decide("bash", PermissionSubject("ls src/up")) == "allow"
