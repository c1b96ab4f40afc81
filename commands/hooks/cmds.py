"""``hooks list`` (what is configured, from where) and ``hooks test EVENT`` (run the matching
hooks now on a sample event and show what they decided), for checking hooks without a model."""

from __future__ import annotations

import json
from typing import Any

from opencode.commands.registry import (
    Arg,
    CommandContext,
    CommandError,
    CommandResult,
    Table,
    command,
)


def _hooks(ctx: CommandContext) -> Any:
    from opencode.sessions.hooks import HookConfigError, load_hooks

    try:
        return load_hooks(ctx.config.section("hooks"), ctx.cwd, ctx.config.sources)
    except HookConfigError as exc:
        raise CommandError(str(exc), exit_code=2) from exc


@command("hooks", "list", help="the configured hooks, in the order they run")
async def hooks_list(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    hooks = _hooks(ctx)
    rows = [[h.event, h.matcher or "*", h.command, f"{h.timeout:g}", h.source] for h in hooks]
    data = [
        {
            "event": h.event,
            "matcher": h.matcher,
            "command": h.command,
            "timeout": h.timeout,
            "source": h.source,
        }
        for h in hooks
    ]
    text = None if rows else "no hooks configured ([[hooks.EVENT]] in opencode.toml)"
    return CommandResult(
        data=data,
        text=text,
        tables=[Table(["event", "matcher", "command", "timeout", "from"], rows)],
    )


@command(
    "hooks",
    "test",
    help="run the hooks of EVENT now on a sample event and show their decision",
    args=[
        Arg("event", positional=True, required=True, help="PreToolUse, PostToolUse, ..."),
        Arg("tool", option="--tool", help="tool name for tool events (default bash)"),
        Arg("input", option="--input", help="tool_input as JSON (default {})"),
        Arg("prompt", option="--prompt", help="prompt for UserPromptSubmit"),
    ],
)
async def hooks_test(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.hooks import EVENTS, TOOL_EVENTS, HookRunner

    event = args["event"]
    if event not in EVENTS:
        raise CommandError(f"unknown event {event!r}; events: {', '.join(EVENTS)}", exit_code=2)
    payload: dict[str, Any] = {}
    tool: str | None = None
    if event in TOOL_EVENTS:
        tool = args.get("tool") or "bash"
        try:
            payload["tool_input"] = json.loads(args.get("input") or "{}")
        except json.JSONDecodeError as exc:
            raise CommandError(
                f"--input is not JSON: {exc}",
                hint='e.g. --input \'{"command": "ls"}\'',
                exit_code=2,
            ) from exc
        if event == "PostToolUse":
            payload["tool_response"] = {"output": "", "is_error": False}
    if event == "UserPromptSubmit":
        payload["prompt"] = args.get("prompt") or ""
    runner = HookRunner(_hooks(ctx), ctx.cwd)  # not recorded: a test run is not a session's
    outcome = await runner.fire(event, "test", tool, **payload)
    rows = [
        [r.hook.command, "timeout" if r.timed_out else str(r.exit_code), r.stderr.strip()[:80]]
        for r in outcome.runs
    ]
    decision = "block" if outcome.blocked else ("approve" if outcome.approved else "continue")
    data = {
        "event": event,
        "tool": tool,
        "hooks_run": len(outcome.runs),
        "decision": decision,
        "reason": outcome.reason,
        "updated_input": outcome.updated_input,
        "context": outcome.context,
        "problems": outcome.problems,
    }
    lines = [f"{event}{f' ({tool})' if tool else ''}: {len(outcome.runs)} hook(s) ran; {decision}"]
    if outcome.reason:
        lines.append(f"reason: {outcome.reason}")
    if outcome.updated_input is not None:
        lines.append(f"updated input: {json.dumps(outcome.updated_input)}")
    lines += [f"context: {c}" for c in outcome.context]
    lines += [f"problem: {p}" for p in outcome.problems]
    return CommandResult(
        data=data,
        text="\n".join(lines),
        tables=[Table(["hook", "exit", "stderr"], rows)] if rows else [],
        exit_code=0,
    )
