"""Run a registered command from words or a slash line and print its result."""

from __future__ import annotations

import sys

from commands.registry import REGISTRY, CommandContext, HelpRequested, UsageError, run_command
from commands.render import to_json, to_text

EXIT_USAGE = 2


async def run_words(ctx: CommandContext, words: list[str], fmt: str) -> int:
    try:
        command, values = REGISTRY.parse(words)
    except HelpRequested as exc:
        print(exc.usage)
        return 0
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    return await _run(ctx, command, values, fmt)


async def run_slash(ctx: CommandContext, line: str, fmt: str) -> int:
    try:
        command, values = REGISTRY.parse_slash(line)
    except HelpRequested as exc:
        print(exc.usage)
        return 0
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    return await _run(ctx, command, values, fmt)


async def _run(ctx: CommandContext, command: object, values: dict[str, object], fmt: str) -> int:
    from commands.registry import Command

    assert isinstance(command, Command)
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
