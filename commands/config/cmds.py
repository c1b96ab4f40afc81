"""``config explain``: which files and layers made the current setup; ``init``: a starter
AGENTS.md for this project.

``config explain`` lists the config files in the order they were overlaid, every key with the
file and line that set it last (secrets hidden), the instruction files that join the system
prompt (with sizes), where each permission rule comes from, the hooks and custom commands.
"""

from __future__ import annotations

import os
from typing import Any

from opencode.commands.registry import (
    Arg,
    CommandContext,
    CommandError,
    CommandResult,
    Table,
    command,
)


def _leaves(node: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(node, dict) and node:
        out: list[tuple[tuple[str, ...], Any]] = []
        for key, value in node.items():
            out += _leaves(value, (*prefix, str(key)))
        return out
    return [(prefix, node)]


def _shown(keys: tuple[str, ...], value: Any, secrets: list[str]) -> str:
    from opencode.sessions.secrets import scrub

    if keys and (keys[-1] == "api_key" or "headers" in keys):
        return "(hidden)"
    text = repr(value)
    text = scrub(text, secrets)
    return text if len(text) <= 60 else text[:57] + "..."


@command("config", "explain", help="which config files, instructions, rules and hooks apply here")
async def config_explain(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.custom import load_custom
    from opencode.sessions.config import global_config_path
    from opencode.sessions.hooks import HookConfigError, load_hooks
    from opencode.sessions.instructions import global_instructions_path, load_instructions

    config = ctx.config
    origins = config.key_origins
    secrets = [p.api_key for p in config.providers.values() if p.api_key]
    explicit = os.environ.get("OPENCODE_CONFIG")
    layers = [["built-in defaults", "providers, model, permissions"]]
    for path in config.sources:
        why = (
            "$OPENCODE_CONFIG"
            if explicit
            else ("global" if path == global_config_path() else "project")
        )
        layers.append([str(path), why])
    keys = [
        [".".join(k), _shown(k, v, secrets), origins.get(".".join(k), "built-in")]
        for k, v in _leaves(config.raw)
        if k
    ]
    instructions = load_instructions(ctx.cwd)
    files = [
        [
            str(f.path),
            f"{f.size:,}" + (" (cut)" if f.truncated else ""),
            f"included by {f.included_by}" if f.included_by else "",
        ]
        for f in instructions.files
    ]
    rules: list[list[str]] = []
    for tool, action in config.permission.tools.items():
        rules.append([tool, "*", action, origins.get(f"permission.{tool}", "built-in")])
    for pattern, action in config.permission.bash:
        where = origins.get(f"permission.bash.{pattern}", "config")
        rules.append(["bash", pattern, action, where])
    try:
        hooks = load_hooks(config.section("hooks"), ctx.cwd, config.sources)
        hook_rows = [
            [h.event, h.matcher or "*", h.command, f"{h.timeout:g}", h.source] for h in hooks
        ]
        hook_note = ""
    except HookConfigError as exc:
        hook_rows, hook_note = [], f"hooks: {exc}"
    commands, command_warnings = load_custom(ctx.cwd)
    command_rows = [["/" + n, c.scope, str(c.path)] for n, c in sorted(commands.items())]
    tables = [
        Table(["file", "layer"], layers, title="config layers (later overrides earlier)"),
        Table(["key", "value", "set at"], keys, title="keys"),
        Table(["file", "bytes", "how"], files, title="instruction files (system prompt order)"),
        Table(["tool", "subject", "action", "rule at"], rules, title="permission rules"),
        Table(["event", "matcher", "command", "timeout", "from"], hook_rows, title="hooks"),
        Table(["command", "scope", "file"], command_rows, title="custom commands"),
    ]
    notes = [f"global instructions file: {global_instructions_path()}"]
    notes += [f"warning: {w}" for w in [*instructions.warnings, *command_warnings]]
    if hook_note:
        notes.append(f"warning: {hook_note}")
    data = {
        "layers": [{"file": f, "layer": why} for f, why in layers],
        "keys": [{"key": k, "value": v, "origin": o} for k, v, o in keys],
        "instructions": [
            {
                "path": str(f.path),
                "bytes": f.size,
                "truncated": f.truncated,
                "included_by": str(f.included_by) if f.included_by else None,
            }
            for f in instructions.files
        ],
        "permission_rules": [
            {"tool": t, "subject": s, "action": a, "origin": o} for t, s, a, o in rules
        ],
        "hooks": [
            {"event": e, "matcher": m, "command": c, "timeout": float(t), "source": s}
            for e, m, c, t, s in hook_rows
        ],
        "commands": [{"name": n, "scope": s, "path": p} for n, s, p in command_rows],
        "warnings": notes[1:],
    }
    return CommandResult(data=data, text="\n".join(notes), tables=tables)


@command(
    "init",
    help="write a starter AGENTS.md for this project (languages, test command, layout)",
    args=[Arg("force", option="--force", flag=True, help="overwrite an existing AGENTS.md")],
)
async def init(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    import asyncio

    from opencode.commands.config.starter import starter_agents_md

    target = ctx.cwd / "AGENTS.md"
    if target.exists() and not args.get("force"):
        raise CommandError(
            f"{target} already exists; nothing was changed",
            hint="edit it, or run `opencode init --force` to replace it with a fresh starter",
        )
    text = await asyncio.to_thread(starter_agents_md, ctx.cwd)
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return CommandResult(
        data={"path": str(target), "bytes": len(text.encode())},
        text=f"wrote {target} ({len(text.splitlines())} lines); review it and add your conventions",
        changed=frozenset(),
    )
