"""The command registry: one declaration, shell and slash forms, usage errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opencode.commands.registry import (
    Arg,
    Command,
    CommandContext,
    CommandError,
    CommandResult,
    Registry,
    UsageError,
    run_command,
)


async def _echo(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    return CommandResult(data=args)


async def _fail(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    raise CommandError("target 'web' has no path /nope; add it with `target add`")


def make_registry() -> Registry:
    registry = Registry()
    registry._loaded = True  # no module imports: only the commands declared here
    registry.register(
        Command(
            ("sync", "run"),
            "sync a target",
            _echo,
            args=(
                Arg("target", positional=True, option="--target", required=True),
                Arg("all_targets", option="--all-targets", flag=True),
            ),
        )
    )
    registry.register(Command(("sync", "status"), "status", _echo, aliases=(("st",),)))
    registry.register(Command(("fail",), "fails", _fail))
    return registry


@pytest.mark.parametrize(
    "words",
    [["sync", "run", "web"], ["sync", "run", "--target", "web"]],
)
def test_positional_and_option_forms_fill_the_same_argument(words: list[str]) -> None:
    command, values = make_registry().parse(words)
    assert command.name == "sync run"
    assert values == {"target": "web", "all_targets": False}


def test_slash_line_parses_like_the_shell() -> None:
    command, values = make_registry().parse_slash("/sync run 'my web'")
    assert command.name == "sync run"
    assert values["target"] == "my web"


def test_alias_resolves() -> None:
    command, _ = make_registry().parse(["st"])
    assert command.name == "sync status"


def test_unknown_command_lists_the_group() -> None:
    with pytest.raises(UsageError) as info:
        make_registry().parse(["sync", "explode"])
    text = str(info.value)
    assert "unknown command: sync explode" in text
    assert "sync run" in text and "sync status" in text


def test_missing_required_argument_shows_usage() -> None:
    with pytest.raises(UsageError) as info:
        make_registry().parse(["sync", "run"])
    text = str(info.value)
    assert "target is required" in text
    assert "--target" in text and "usage:" in text


def test_unknown_option_is_usage_error() -> None:
    with pytest.raises(UsageError, match="unrecognized arguments: --bogus"):
        make_registry().parse(["sync", "run", "web", "--bogus"])


async def test_command_error_becomes_failed_result(tmp_path: Path) -> None:
    registry = make_registry()
    command, values = registry.parse(["fail"])
    ctx = CommandContext(store=None, config=None, cwd=tmp_path)  # type: ignore[arg-type]
    result = await run_command(ctx, command, values)
    assert result.exit_code == 1
    assert result.data == {"error": "target 'web' has no path /nope; add it with `target add`"}


def test_real_registry_loads_every_declared_module() -> None:
    from opencode.commands.registry import REGISTRY

    names = {c.name for c in REGISTRY.commands()}
    assert {"session list", "session show", "session export"} <= names
    slash = dict(REGISTRY.slash_entries())
    assert "/sessions" in slash and "/export" in slash
