"""``permission explain TOOL SUBJECT``: the decision a tool call would get, and why.

For bash it also lists each parsed part of the command with its own decision and rule, and
which sandbox mode the command would run in. ``--yes``/``--allow`` show what those flags of
``opencode run`` would change (a config deny stays a deny).
"""

from __future__ import annotations

from typing import Any

from opencode.commands.registry import (
    Arg,
    CommandContext,
    CommandError,
    CommandResult,
    Table,
    command,
)


@command(
    "permission",
    "explain",
    help="the allow/ask/deny decision for a tool call, with the rule that made it",
    args=[
        Arg("tool", positional=True, required=True, help="tool name: bash, read, edit, ..."),
        Arg(
            "subject",
            positional=True,
            required=True,
            multiple=True,
            help="the command (bash) or path the call would be about",
        ),
        Arg("yes", option="--yes", flag=True, help="as `opencode run --yes` would decide"),
        Arg("allow", option="--allow", multiple=True, help="as `opencode run --allow` would"),
    ],
)
async def permission_explain(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.tools.permissions import Permissions
    from opencode.sessions.tools.registry import builtin_tools

    tools = builtin_tools()
    name = args["tool"]
    tool = tools.get(name)
    if tool is None:
        raise CommandError(f"no tool named {name!r}; tools: {', '.join(sorted(tools))}")
    text = " ".join(args["subject"])
    allow = {n.strip() for item in args.get("allow") or [] for n in item.split(",") if n.strip()}
    permissions = Permissions(
        ctx.config.permission,
        ctx.cwd,
        allow=allow,
        allow_all=bool(args.get("yes")),
        sandbox=ctx.config.sandbox,
    )
    key = "command" if name == "bash" else "path"
    subject = tool.permission_subject({key: text}, ctx.cwd)
    action, reason = permissions.explain(name, subject)
    data: dict[str, Any] = {"tool": name, "subject": subject.subject, "decision": action}
    data["reason"] = reason
    lines = [f"{name} {subject.subject!r}: {action.upper()} ({reason})"]
    tables: list[Table] = []
    if name == "bash":
        verdict = permissions.explain_bash(subject.subject)
        data["sandbox"] = permissions.sandbox_description()
        data["parts"] = [
            {"command": p.text, "decision": p.action or "default", "reason": p.reason}
            for p in verdict.parts
        ]
        lines.append(data["sandbox"])
        rows = [[p["command"], p["decision"], p["reason"]] for p in data["parts"]]
        tables.append(Table(["part", "decision", "rule"], rows, title="parsed parts"))
    return CommandResult(data=data, text="\n".join(lines), tables=tables)
