"""Run a registered command from words or a slash line and print its result."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from opencode.commands.registry import (
    REGISTRY,
    Command,
    CommandContext,
    HelpRequested,
    UsageError,
    run_command,
)
from opencode.commands.render import to_json, to_text

EXIT_USAGE = 2


async def run_words(ctx: CommandContext, words: list[str], fmt: str) -> int:
    return await _parse_and_run(ctx, lambda: REGISTRY.parse(words), fmt)


async def run_slash(ctx: CommandContext, line: str, fmt: str) -> int:
    return await _parse_and_run(ctx, lambda: REGISTRY.parse_slash(line), fmt)


async def _parse_and_run(
    ctx: CommandContext, parse: Callable[[], tuple[Command, dict[str, Any]]], fmt: str
) -> int:
    """Help goes to stdout (exit 0); bad usage to stderr with the command's usage (exit 2)."""
    try:
        command, values = parse()
    except HelpRequested as exc:
        print(exc.usage)
        return 0
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    return await _run(ctx, command, values, fmt)


async def _run(ctx: CommandContext, command: Command, values: dict[str, Any], fmt: str) -> int:
    values["_format"] = fmt
    result = await run_command(ctx, command, values)
    if fmt == "json":
        print(to_json(result))
    else:
        text = result.text if fmt == "markdown" and result.text else to_text(result)
        if text:
            failed = isinstance(result.data, dict) and set(result.data) == {"error"}
            stream = sys.stderr if failed else sys.stdout
            print(text, file=stream)
    return result.exit_code
