"""The ``opencode`` console script.

- ``opencode`` [-c | -s ID] [-m MODEL]   the TUI (the only path that imports Textual)
- ``opencode run [MESSAGE...]``          one headless agent turn (see opencode.commands.headless)
- ``opencode GROUP ...``                 any registered command (``session list``, ``sync status``)

Start-up stays cheap: argparse only, engine modules imported after parsing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

VERSION = "0.1.0"
FORMATS = ("text", "json", "markdown")  # commands.registry.OUTPUT_FORMATS, kept import-free

# Starts the TUI from the parsed `opencode [-c|-s ID] [-m MODEL]` options and returns the exit
# code. It is passed in by ``opencode.main`` (the console script), so this module never imports
# the TUI layer: commands sit below tui.
TuiLauncher = Callable[[argparse.Namespace], int]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive whole number, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value}")
    return value


def _add_session_options(parser: argparse.ArgumentParser, verb: str) -> None:
    """-m, and -c / -s (one or the other): shared by `opencode` and `opencode run`."""
    parser.add_argument("-m", "--model", help="PROVIDER/MODEL, e.g. openai/gpt-4o-mini")
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-c",
        "--continue",
        dest="cont",
        action="store_true",
        help=f"{verb} the latest session in this directory",
    )
    group.add_argument("-s", "--session", help=f"{verb} the session with this id")


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="opencode run",
        description="Run one agent turn headless and print the result. Piped stdin is appended "
        'to the message. A message starting with / runs that command (e.g. "/sync status").',
        epilog="Exit codes: 0 finished, 1 provider/runtime error, 2 usage/config error, "
        "3 permission needed (--on-ask fail), 4 stopped by --max-cost, 130 interrupted, "
        "141 stdout closed.",
    )
    parser.add_argument("message", nargs="*", help="the message (words are joined by spaces)")
    _add_session_options(parser, "continue")
    parser.add_argument("--title", help="title for a new session")
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: the reply on stdout, tool activity on stderr; "
        "json: JSON Lines events (schema v1, see README)",
    )
    parser.add_argument(
        "--input-format",
        choices=("text", "stream-json"),
        default="text",
        help="text: the message from arguments and stdin; stream-json: one user message per "
        'JSON line on stdin ({"text": "..."} or {"type":"user","message":{"content":"..."}}), '
        "each a turn in the same session, until EOF",
    )
    parser.add_argument(
        "--max-steps",
        type=_positive_int,
        metavar="N",
        help="stop after N model calls (default: max_steps in config, 25)",
    )
    parser.add_argument(
        "--max-cost",
        type=_cost_limit,
        metavar="USD",
        help="no further model call once this turn (subagents included) has cost more than USD "
        "(the reply so far "
        "is saved; exit code 4). Needs a price for every model of the chain "
        '([provider.NAME.price."MODEL"]; a local endpoint counts as free), else nothing is '
        "sent (exit 2). 0 allows free models only",
    )
    parser.add_argument(
        "--allow", action="append", metavar="TOOL[,TOOL]", help="allow these tools without asking"
    )
    parser.add_argument("--yes", "-y", action="store_true", help="allow every tool call")
    parser.add_argument(
        "--trust-project",
        action="store_true",
        help="trust this project's own settings (hooks, MCP servers, permission allows) for "
        "this run, as `opencode trust` would; for scripts in checkouts you control",
    )
    parser.add_argument(
        "--on-ask",
        choices=("deny", "fail"),
        default="deny",
        help="when a tool needs permission: deny it and go on (default), or stop with exit code 3",
    )
    return parser


def _cost_limit(value: str) -> float:
    import math

    try:
        limit = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an amount (e.g. 0.50)") from None
    if not math.isfinite(limit) or limit < 0:
        raise argparse.ArgumentTypeError(f"{value!r}: give an amount of 0 or more (e.g. 0.50)")
    return limit


def _main_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="opencode",
        description="An agent for your terminal. With no command, opens the TUI in this directory.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_commands_epilog(),
    )
    parser.add_argument("--version", action="version", version=f"opencode {VERSION}")
    _add_session_options(parser, "resume")
    return parser


def _commands_epilog() -> str:
    from opencode.commands.registry import REGISTRY

    lines = [
        "commands:",
        "  run [MESSAGE...]         run one agent turn headless (opencode run -h)",
    ]
    for command in REGISTRY.commands():
        lines.append(f"  {command.name:<24} {command.help}")
    lines.append("")
    lines.append("Each command takes --format text|json; `opencode COMMAND -h` shows its options.")
    return "\n".join(lines)


def _split_format(words: list[str]) -> tuple[list[str], str | None]:
    """Take a global ``--format X`` / ``--format=X`` out of a registry command line."""
    rest: list[str] = []
    fmt: str | None = None
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--format" and i + 1 < len(words):
            fmt = words[i + 1]
            i += 2
            continue
        if word.startswith("--format="):
            fmt = word.split("=", 1)[1]
        else:
            rest.append(word)
        i += 1
    return rest, fmt


def _registry_command(words: list[str]) -> int:
    import asyncio
    from pathlib import Path

    from opencode.commands.context import open_context_or_report
    from opencode.commands.dispatch import run_words

    words, fmt = _split_format(words)
    fmt = fmt or "text"
    if fmt not in FORMATS:
        print(
            f"opencode: --format must be one of {', '.join(FORMATS)}, not {fmt!r}", file=sys.stderr
        )
        return 2

    async def go() -> int:
        ctx = await open_context_or_report(Path.cwd().resolve())
        if isinstance(ctx, int):
            return ctx
        try:
            return await run_words(ctx, words, fmt)
        finally:
            await ctx.store.close()

    return asyncio.run(go())


def main(argv: Sequence[str] | None = None, *, tui: TuiLauncher | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        if words and words[0] == "run":
            from opencode.commands.headless import run

            return run(_run_parser().parse_args(words[1:]))
        if words and words[0] == "proxy" and (len(words) == 1 or words[1].startswith("-")):
            from opencode.commands.proxy.serve import main as proxy_main

            return proxy_main(words[1:])
        if words and not words[0].startswith("-"):
            from opencode.commands.registry import REGISTRY

            if words[0] in REGISTRY.groups():
                return _registry_command(words)
            print(
                f"opencode: unknown command {words[0]!r}\n\n{REGISTRY.overview()}\n"
                "  run [MESSAGE...]         run one agent turn headless",
                file=sys.stderr,
            )
            return 2
        opts = _main_parser().parse_args(words)
        if tui is None:
            print(
                "opencode: start the TUI with `opencode` (or `python -m opencode`)", file=sys.stderr
            )
            return 2
        return tui(opts)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
