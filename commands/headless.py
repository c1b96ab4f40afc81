"""``opencode run``: one agent turn without a terminal UI, for scripts.

Never waits for an answer nobody can give: a tool that needs permission is denied (the model
is told, a ``permission`` event is printed) or, with ``--on-ask fail``, ends the run with exit 3.
Exit codes: 0 finished, 1 provider/runtime error, 2 usage/config error, 3 permission needed,
4 stopped by ``--max-cost`` (the reply so far is saved), 130 interrupted (SIGINT/SIGTERM; what
streamed so far is persisted, marked interrupted), 141 stdout closed by its reader (persisted
as interrupted too).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opencode.sessions.providers.resilience.chain import Notice

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PERMISSION, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_MAX_COST = 4  # --max-cost was passed: the turn stopped before its next step
EXIT_OUTPUT_CLOSED = 141  # 128 + SIGPIPE, as `yes | head` reports it


def read_message(words: list[str], stdin: Any) -> str:
    """The message from argv words, with piped stdin appended (after a blank line)."""
    message = " ".join(words).strip()
    if stdin is not None and not stdin.isatty():
        piped = stdin.read()
        if piped.strip():
            message = f"{message}\n\n{piped}" if message else piped
    return message


def run(opts: argparse.Namespace) -> int:
    if getattr(opts, "input_format", "text") == "stream-json":
        if opts.message:
            print(
                "opencode run: with --input-format stream-json the messages come on stdin, one "
                'JSON object a line ({"text": "..."}); drop the message arguments',
                file=sys.stderr,
            )
            return EXIT_USAGE
        return asyncio.run(_run(opts, None))
    try:
        message = read_message(opts.message, sys.stdin)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"opencode run: cannot read stdin: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not message:
        print(
            "opencode run: no message; give one as arguments or on stdin "
            '(e.g. `opencode run "explain this repo"`)',
            file=sys.stderr,
        )
        return EXIT_USAGE
    return asyncio.run(_run(opts, message))


async def _run(opts: argparse.Namespace, message: str | None) -> int:
    """One turn for ``message``; with None, one turn per stdin line (stream-json input)."""
    from opencode.commands.context import open_context_or_report

    if getattr(opts, "trust_project", False):
        from opencode.sessions.trust import trust_this_run

        trust_this_run()
    ctx = await open_context_or_report(Path.cwd().resolve())
    if isinstance(ctx, int):
        return ctx
    try:
        if message is not None and message.lstrip().startswith("/"):
            from opencode.commands.custom import find_custom
            from opencode.commands.mcp import slash

            # An MCP prompt (/SERVER:PROMPT args): its text is the message.
            call = slash.parse(message)
            if call is not None and call.server in slash.server_names(ctx.config, ctx.cwd):
                return await _mcp_prompt_turn(ctx, opts, call)
            from opencode.commands.dispatch import run_slash

            # A custom command (.opencode/commands/NAME.md): its expansion is the message.
            custom, arguments, warnings = find_custom(message, ctx.cwd)
            for line in warnings:
                print(f"opencode: warning: {line}", file=sys.stderr)
            if custom is not None:
                return await _agent_turn(ctx, opts, message, (custom, arguments))
            return await run_slash(ctx, message.strip(), opts.format)
        return await _agent_turn(ctx, opts, message)
    finally:
        await ctx.store.close()


async def _mcp_prompt_turn(ctx: Any, opts: argparse.Namespace, call: Any) -> int:
    from opencode.commands.mcp.slash import expand
    from opencode.commands.registry import CommandError

    try:
        text = await expand(ctx.config, ctx.cwd, call)
    except CommandError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        print(f"opencode run: {exc}{hint}; nothing was sent", file=sys.stderr)
        return EXIT_USAGE if exc.exit_code == 2 else EXIT_ERROR
    return await _agent_turn(ctx, opts, text)


def _print_notice(notice: Notice) -> None:
    """The provider layer's decisions on stderr (stdout stays the reply, or JSON lines)."""
    if notice.kind in ("attempt", "failed"):
        return  # each is followed by what it led to (a retry, a fallback, the end)
    if notice.kind == "answered" and notice.requested in (None, notice.ref):
        return  # the model asked for answered: nothing to say
    if notice.kind == "fallback":
        return  # said once, with the reason, by the "answered" line (or by "exhausted")
    print(f"opencode run: {notice.text}", file=sys.stderr)


async def _agent_turn(
    ctx: Any,
    opts: argparse.Namespace,
    message: str | None,
    custom: tuple[Any, str] | None = None,
) -> int:
    from opencode.commands.printers import JsonPrinter, TextPrinter
    from opencode.commands.stream_input import LineError, read_lines
    from opencode.sessions.config import ConfigError
    from opencode.sessions.custom_commands import ExpansionError
    from opencode.sessions.engine import Engine
    from opencode.sessions.events import SessionEvent
    from opencode.sessions.permissions_api import (
        PermissionAnswer,
        PermissionRequest,
        PermissionRequired,
    )
    from opencode.sessions.runner import RunnerError
    from opencode.sessions.store.db import StoreError

    printer = JsonPrinter() if opts.format == "json" else TextPrinter()
    allow = {
        name.strip() for item in (opts.allow or []) for name in item.split(",") if name.strip()
    }

    async def asker(request: PermissionRequest) -> PermissionAnswer:
        if opts.on_ask == "fail":
            raise PermissionRequired(
                f"{request.tool} on {request.subject!r} needs permission "
                f"(--on-ask fail); allow it with --allow {request.tool} or --yes"
            )
        return "deny"

    engine = Engine(ctx.config, ctx.cwd, allow=allow, allow_all=opts.yes)
    engine.model = opts.model
    failures: list[str] = []  # the failed chain entries of this call, for "answered by"
    said: set[str] = set()  # "answered by" lines already printed: once per run each

    def on_notice(notice: Notice) -> None:
        if notice.kind == "fallback":
            # "a/m1 failed: connect", from the notice's fields (its text is for people)
            why = (notice.error_class or "").replace("_", " ") or notice.reason
            failures.append(f"{notice.ref} failed: {why}" if why else f"{notice.ref} failed")
        elif notice.kind == "answered" and notice.requested not in (None, notice.ref):
            line = f"answered by {notice.ref} ({'; '.join(failures) or 'fallback'})"
            failures.clear()
            if line not in said:
                said.add(line)
                print(f"opencode run: {line}", file=sys.stderr)
            return
        elif notice.kind == "exhausted":
            failures.clear()
        _print_notice(notice)

    engine.on_notice = on_notice
    await engine.open(asker, store=ctx.store)  # borrowed: _run closes it
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    interrupted: str | None = None  # why the run was cancelled: "signal" or "output"

    def on_signal() -> None:
        # One cancel only: a second Ctrl+C must not cut short the saving of the first.
        nonlocal interrupted
        if interrupted is not None:
            return
        interrupted = "signal"
        if task is not None:
            task.cancel()

    def print_event(event: SessionEvent) -> None:
        # Whoever reads stdout went away (`opencode run ... | head`): stop like an interrupt,
        # so the turn is persisted as interrupted instead of streaming on for nobody.
        nonlocal interrupted
        if interrupted == "output":
            return
        try:
            printer(event)
        except BrokenPipeError:
            interrupted = "output"
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
            os.close(devnull)
            if task is not None:
                task.cancel()

    engine.bus.subscribe(print_event)
    engine.on_compacted = lambda done: _report_compaction(printer, done, opts.format)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    reported: str | None = None  # the kind of StoreError already told to the user
    close_failed = False
    try:
        await engine.start(session_id=opts.session, continue_latest=opts.cont, title=opts.title)
        max_cost = getattr(opts, "max_cost", None)
        if max_cost is not None:
            model = custom[0].model if custom is not None else None
            problem = engine.max_cost_problem(max_cost, model)
            if problem is not None:
                print(f"opencode run: {problem}; nothing was sent", file=sys.stderr)
                return EXIT_USAGE
        if custom is not None:
            result = await _send_custom(engine, opts, custom[0], custom[1], asker)
        elif message is not None:
            # Typed by the user: its @path mentions are attached (sessions/mentions.py).
            result = await engine.send(
                message, max_steps=opts.max_steps, max_cost=max_cost, mentions=True
            )
        else:
            # stream-json input: one turn per line, in order, all in this session; a bad line
            # is reported (an `error` event naming it) and the run goes on. Exit status: the
            # worst turn's, or 2 when every turn finished but some line was refused.
            last = None
            bad_lines = 0
            worst = EXIT_OK
            async for item in read_lines():
                if isinstance(item, LineError):
                    bad_lines += 1
                    _report_line_error(printer, engine, item, opts.format)
                    continue
                last = await engine.send(item.text, max_steps=opts.max_steps, max_cost=max_cost)
                code = _turn_exit(last)
                worst = max(worst, code)
                if code == EXIT_PERMISSION:
                    print(f"opencode run: {last.error}", file=sys.stderr)
                    return EXIT_PERMISSION
            if last is None and not bad_lines:
                print("opencode run: no messages on stdin (stream-json input)", file=sys.stderr)
                return EXIT_USAGE
            return worst if worst != EXIT_OK else (EXIT_USAGE if bad_lines else EXIT_OK)
    except ExpansionError as exc:
        print(
            f"opencode run: /{custom[0].name if custom else ''}: {exc}; nothing was sent",
            file=sys.stderr,
        )
        return EXIT_PERMISSION
    except (ConfigError, RunnerError) as exc:
        print(f"opencode run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        reported = exc.kind
        print(f"opencode run: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except asyncio.CancelledError:
        if interrupted is None:
            raise
        if interrupted == "output":
            print(
                "opencode run: stdout was closed; the session is saved as interrupted "
                "(resume with -c)",
                file=sys.stderr,
            )
            return EXIT_OUTPUT_CLOSED
        print("\nopencode run: interrupted; the session is saved (resume with -c)", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        try:
            await engine.close()  # the last buffered text is written here
        except StoreError as exc:
            close_failed = True
            if exc.kind != reported:  # one message per failure, never a second traceback
                print(
                    f"opencode run: {exc}; the reply was shown but its end was not saved",
                    file=sys.stderr,
                )
    if close_failed:
        return EXIT_ERROR
    if result.finish in ("error", "blocked"):  # blocked: a UserPromptSubmit hook said no
        return EXIT_ERROR
    if result.finish == "permission_required":
        print(f"opencode run: {result.error}", file=sys.stderr)
        return EXIT_PERMISSION
    if result.finish == "max_cost":
        return EXIT_MAX_COST
    return EXIT_OK


def _turn_exit(result: Any) -> int:
    if result.finish in ("error", "blocked"):  # blocked: a hook said no
        return EXIT_ERROR
    if result.finish == "permission_required":
        return EXIT_PERMISSION
    return EXIT_OK


def _report_line_error(printer: Any, engine: Any, error: Any, fmt: str) -> None:
    """A refused stdin line: an ``error`` event (with ``line``) in JSON, a stderr line in text."""
    if fmt == "json":
        session_id = engine.session.id if engine.session is not None else ""
        printer.emit("error", session_id, message=error.message, hint=error.hint, line=error.line)
    else:
        print(f"opencode run: {error.message}; {error.hint}", file=sys.stderr)


def _report_compaction(printer: Any, done: Any, fmt: str) -> None:
    """An automatic compaction before a turn: a ``compaction`` event, or a stderr line."""
    if fmt == "json":
        printer.emit_attributes(
            "compaction", done, ("trigger", "upto_message_id", "tokens_before", "tokens_after")
        )
    else:
        print(
            f"opencode run: the context passed [compaction] threshold: older turns summarised "
            f"(~{done.tokens_before} → ~{done.tokens_after} tokens; all messages are kept)",
            file=sys.stderr,
        )


async def _send_custom(
    engine: Any, opts: argparse.Namespace, command: Any, arguments: str, asker: Any
) -> Any:
    """Expand a custom command (its ``!`cmd` `` through the bash tool's permission path) and
    send the expansion as the user message, with its ``model`` and ``allowed-tools``."""
    from opencode.sessions.custom_commands import expand, tool_runners

    runner = engine.runner()
    tools = command.tools
    run_shell, read_file = tool_runners(
        runner.permissions,
        asker,
        engine.cwd,
        engine.session.id,
        tools,
        secrets=engine.config.literal_secrets(),
    )
    text = await expand(command, arguments, engine.cwd, run_shell, read_file)
    return await engine.send(
        text,
        max_steps=opts.max_steps,
        max_cost=getattr(opts, "max_cost", None),
        model=command.model,
        request_options={"tools": tools} if tools else None,
    )
