"""Run a registered command from words or a slash line and print its result."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, cast

from opencode.commands.registry import (
    OUTPUT_FORMATS,
    REGISTRY,
    Command,
    CommandContext,
    HelpRequested,
    OutputFormat,
    UsageError,
    run_command,
)
from opencode.commands.render import render

EXIT_USAGE = 2


async def run_words(ctx: CommandContext, words: list[str], fmt: str | None = None) -> int:
    return await _parse_and_run(ctx, lambda: REGISTRY.parse(words), fmt)


async def run_slash(ctx: CommandContext, line: str, fmt: str | None = None) -> int:
    return await _parse_and_run(ctx, lambda: REGISTRY.parse_slash(line), fmt)


async def _parse_and_run(
    ctx: CommandContext, parse: Callable[[], tuple[Command, dict[str, Any]]], fmt: str | None
) -> int:
    """Help goes to stdout (exit 0); bad usage to stderr with the command's usage (exit 2)."""
    if fmt is not None:
        if fmt not in OUTPUT_FORMATS:
            print(
                f"opencode: --format must be one of {', '.join(OUTPUT_FORMATS)}, not {fmt!r}",
                file=sys.stderr,
            )
            return EXIT_USAGE
        ctx.format = cast(OutputFormat, fmt)
    try:
        command, values = parse()
    except HelpRequested as exc:
        print(exc.usage)
        return 0
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    return await _run(ctx, command, values)


async def _run(ctx: CommandContext, command: Command, values: dict[str, Any]) -> int:
    result = await run_command(ctx, command, values)
    text = render(result, ctx.format)
    if text:
        # JSON always goes to stdout (scripts parse it); a failure in text goes to stderr.
        failed = result.error is not None and ctx.format != "json"
        print(text, file=sys.stderr if failed else sys.stdout)
    return result.exit_code
