"""``opencode trust``: trust a project's own settings (hooks, MCP servers, permission allows),
list trusted projects, or revoke one. The store and the rules are in sessions/trust.py."""

from __future__ import annotations

from pathlib import Path
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
    "trust",
    help="trust this project's hooks, MCP servers and permission settings (--list, --revoke)",
    description="A project is untrusted until you run this in it: its hooks and MCP servers do "
    "not run and its opencode.toml may only make permissions stricter. Editing those files "
    "afterwards makes it untrusted again.",
    args=[
        Arg("path", positional=True, help="the project folder (default: this one)"),
        Arg("list", option="--list", flag=True, help="list trusted projects"),
        Arg("revoke", option="--revoke", metavar="PATH", help="stop trusting PATH"),
    ],
)
async def trust_cmd(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions import trust

    if args.get("list"):
        projects = trust.read_store()
        rows = []
        for root, entry in sorted(projects.items()):
            digest, _ = trust.fingerprint(Path(root))
            status = "trusted" if entry.get("hash") == digest else "changed since trusted"
            rows.append([root, entry.get("trusted_at", "?"), status])
        data = [{"path": r[0], "trusted_at": r[1], "status": r[2]} for r in rows]
        text = None if rows else f"no trusted projects ({trust.store_path()})"
        return CommandResult(
            data=data, text=text, tables=[Table(["project", "trusted at", "status"], rows)]
        )
    if args.get("revoke"):
        path = Path(args["revoke"]).expanduser()
        if not trust.revoke(path if path.is_absolute() else ctx.cwd / path):
            raise CommandError(
                f"{path} is not a trusted project", hint="`opencode trust --list` shows them"
            )
        return CommandResult(data={"revoked": str(path)}, text=f"no longer trusted: {path}")
    target = Path(args.get("path") or ctx.cwd).expanduser()
    target = target if target.is_absolute() else ctx.cwd / target
    if not target.is_dir():
        raise CommandError(f"{target} is not a directory", hint="give the project's folder")
    state = trust.trust(target)
    files = [name for name, _ in trust.trust_files(state.root)]
    shown = ", ".join(files) if files else "no settings files yet"
    return CommandResult(
        data={"trusted": str(state.root), "hash": state.digest, "files": files},
        text=f"trusted {state.root} ({shown}); editing these files asks again",
    )
