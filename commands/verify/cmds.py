"""Verification history: ``verify list [--target NAME]`` and ``verify show ID``."""

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
    "verify",
    "list",
    help="past verification runs (newest first)",
    args=[
        Arg("target", positional=True, option="--target", help="only this target"),
        Arg("limit", option="--limit", type=int, default=50, help="at most N (default 50)"),
    ],
)
async def verify_list(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.target.repo import TargetRepo
    from opencode.commands.verify.repo import VerificationRepo

    if args.get("target") and await TargetRepo(ctx.store).get(args["target"]) is None:
        raise CommandError(f"no target named {args['target']!r}; see `opencode target list`")
    runs = await VerificationRepo(ctx.store).verifications(args.get("target"), limit=args["limit"])
    rows = [
        [r["id"], r["target"], r["status"], r["started_at"], r["passed"], r["failed"], r["skipped"]]
        for r in runs
    ]
    return CommandResult(
        data=runs,
        tables=[Table(["id", "target", "status", "started", "passed", "failed", "skipped"], rows)]
        if runs
        else [],
        text=None if runs else "No verification runs yet (`opencode sync verify --target NAME`).",
    )


@command(
    "verify",
    "show",
    help="one verification run with every check's output",
    args=[Arg("id", positional=True, required=True, type=int, help="run id")],
)
async def verify_show(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.commands.verify.repo import VerificationRepo

    run = await VerificationRepo(ctx.store).verification(args["id"])
    if run is None:
        raise CommandError(f"no verification run {args['id']}; see `opencode verify list`")
    rows = [
        [c["category"], c["name"], c["status"].upper(), c["duration_ms"]] for c in run["checks"]
    ]
    details = "\n\n".join(
        f"## {c['name']} ({c['status']})\n{c['output'].rstrip()}"
        for c in run["checks"]
        if c["output"].strip()
    )
    return CommandResult(
        data=run,
        tables=[
            Table(
                ["category", "check", "status", "ms"],
                rows,
                title=f"Verification {run['id']} of {run['target']}: "
                f"{run['status'].upper()} at {run['started_at']}",
            )
        ],
        text=details or None,
    )
