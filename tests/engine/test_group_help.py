"""`opencode GROUP`, `opencode GROUP --help` and `-h` list the group's commands (exit 0)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.commands.registry import REGISTRY, HelpRequested, UsageError

from .helpers import opencode


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    return project


def _is_alias(group: str) -> bool:
    try:
        REGISTRY.find([group])
    except HelpRequested:
        return False
    return True


@pytest.mark.parametrize("flag", [[], ["-h"], ["--help"]])
def test_every_group_lists_its_commands(flag: list[str]) -> None:
    for group in REGISTRY.groups():
        members = [c for c in REGISTRY.commands() if c.path[0] == group]
        if any(len(c.path) == 1 for c in members):
            continue  # the group name is itself a command (`init`): it shows its own usage
        if not flag and _is_alias(group):
            continue  # bare `opencode mcp` stays the alias of `mcp list`
        with pytest.raises(HelpRequested) as caught:
            REGISTRY.parse([group, *flag])
        for command in members:
            assert f"  {command.name:<24} {command.help}" in caught.value.usage


def test_unknown_subcommand_is_still_an_error() -> None:
    with pytest.raises(UsageError) as caught:
        REGISTRY.parse(["backlog", "frobnicate"])
    assert not isinstance(caught.value, HelpRequested)
    assert "unknown command: backlog frobnicate" in str(caught.value)


def test_group_help_from_the_shell(project: Path) -> None:
    for words in (["backlog", "--help"], ["backlog", "-h"], ["backlog"], ["target", "--help"]):
        run = opencode(project, *words)
        assert run.code == 0, (words, run.stderr)
        assert "unknown command" not in run.stderr
        assert f"{words[0]} list" in run.stdout
    assert "backlog export" in opencode(project, "backlog").stdout
    aliased = opencode(project, "mcp", "--help")
    assert aliased.code == 0 and "mcp add" in aliased.stdout and "mcp list" in aliased.stdout
    bad = opencode(project, "backlog", "frobnicate")
    assert bad.code == 2 and "unknown command" in bad.stderr
