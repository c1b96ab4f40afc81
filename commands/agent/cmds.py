"""``agent list`` and ``agent show NAME``: the subagent profiles the ``task`` tool can use.

Built-ins, ``.opencode/agents/*.md`` files and ``[agent.NAME]`` tables, merged as the task
tool sees them (see ``opencode.sessions.agents``); a broken file or table is reported with its
path and key.
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


def _profiles(ctx: CommandContext) -> dict[str, Any]:
    from opencode.sessions.agents import load_profiles
    from opencode.sessions.config import ConfigError

    try:
        return dict(load_profiles(ctx.config, ctx.cwd))
    except ConfigError as exc:
        raise CommandError(str(exc), exit_code=2, hint="fix the file or table it names") from None


def _tools(tools: tuple[str, ...] | None) -> str:
    return ", ".join(tools) if tools is not None else "(all the parent has)"


@command("agent", "list", help="list the subagent profiles the task tool can use")
async def agent_list(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    profiles = _profiles(ctx)
    rows = [
        [p.name, p.description, _tools(p.tools), p.model or "(parent's)", p.source]
        for p in sorted(profiles.values(), key=lambda p: p.name)
    ]
    return CommandResult(
        data=[p.as_dict() for p in sorted(profiles.values(), key=lambda p: p.name)],
        tables=[Table(["name", "description", "tools", "model", "source"], rows)],
    )


@command(
    "agent",
    "show",
    help="one subagent profile: prompt, tools, model, permissions, step budget",
    args=[Arg("name", positional=True, required=True, help="profile name (see agent list)")],
)
async def agent_show(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    profiles = _profiles(ctx)
    name = args["name"]
    profile = profiles.get(name)
    if profile is None:
        raise CommandError(
            f"no agent profile {name!r}",
            hint=f"known: {', '.join(sorted(profiles))}; add one as .opencode/agents/{name}.md",
        )
    perms = ", ".join(f"{k}={v}" for k, v in sorted(profile.permissions.items())) or "(parent's)"
    lines = [
        f"{profile.name}: {profile.description}".rstrip(": "),
        f"source: {profile.source}",
        f"tools: {_tools(profile.tools)}",
        f"model: {profile.model or '(the parent session model)'}",
        f"permissions: {perms}",
        f"max_steps: {profile.max_steps or '(config max_steps)'}",
        "",
        profile.prompt or "(no prompt of its own: the default system prompt only)",
    ]
    return CommandResult(data=profile.as_dict(), text="\n".join(lines))
