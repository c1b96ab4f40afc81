"""Workflow commands: ``workflow run FILE|NAME [--resume]``, ``workflow resume RUN_ID``,
``workflow validate FILE``, ``workflow list``, ``workflow status [RUN_ID]``,
``workflow show RUN_ID``. NAME is looked up as ``.opencode/workflows/NAME.toml`` (or ``.md``).

The file is validated completely before a run row exists: a cycle or an unknown step exits 2
with nothing run. Command steps go through this same registry (``/sync run web``); a step may
not start another workflow.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from opencode.commands.registry import (
    Arg,
    CommandContext,
    CommandError,
    CommandResult,
    Table,
    command,
)

if TYPE_CHECKING:
    from opencode.sessions.workflows.executor import RunSummary, StepExecutor, StepOutcome
    from opencode.sessions.workflows.spec import StepSpec, WorkflowSpec

WORKFLOW_DIR = Path(".opencode") / "workflows"


def resolve_file(ctx: CommandContext, ref: str) -> Path:
    """A path as given, else ``.opencode/workflows/REF.toml`` / ``.md``."""
    direct = (ctx.cwd / ref).expanduser()
    if direct.is_file():
        return direct.resolve()
    for suffix in (".toml", ".md"):
        named = ctx.cwd / WORKFLOW_DIR / f"{ref}{suffix}"
        if named.is_file():
            return named.resolve()
    folder = ctx.cwd / WORKFLOW_DIR
    known = sorted(p.stem for p in folder.glob("*.toml")) + sorted(
        p.stem for p in folder.glob("*.md")
    )
    raise CommandError(
        f"no workflow file {ref!r} (looked for {direct} and {folder}/{ref}.toml|.md)",
        exit_code=2,
        hint=f"workflows here: {', '.join(known)}" if known else "give the path of a .toml file",
    )


def _load(path: Path) -> WorkflowSpec:
    from opencode.sessions.workflows.spec import WorkflowError, load_workflow

    try:
        return load_workflow(path)
    except WorkflowError as exc:
        raise CommandError(str(exc), exit_code=2) from None


def step_executor(ctx: CommandContext, spec: WorkflowSpec) -> StepExecutor:
    """The function the executor calls per step: agent and shell from sessions, commands here."""
    from opencode.sessions.workflows.steps import run_agent, run_shell

    async def execute(step: StepSpec) -> StepOutcome:
        if step.kind == "agent":
            return await run_agent(
                step,
                config=ctx.config,
                cwd=ctx.cwd,
                store=ctx.store,
                allow=spec.allow,
                workflow=spec.name,
            )
        if step.kind == "shell":
            return await run_shell(step, config=ctx.config, cwd=ctx.cwd, allow=spec.allow)
        return await _run_registry_command(ctx, step)

    return execute


async def _run_registry_command(ctx: CommandContext, step: StepSpec) -> StepOutcome:
    from opencode.commands.registry import REGISTRY, UsageError, run_command
    from opencode.commands.render import to_text
    from opencode.sessions.workflows.executor import StepOutcome

    try:
        cmd, values = REGISTRY.parse_slash(step.action)
    except UsageError as exc:
        return StepOutcome(False, error=f"command step {step.name!r}: {exc}")
    if cmd.path[0] == "workflow":
        return StepOutcome(False, error=f"command step {step.name!r}: a step cannot run a workflow")
    sub = CommandContext(
        store=ctx.store, config=ctx.config, cwd=ctx.cwd, progress=ctx.progress, format="text"
    )
    result = await run_command(sub, cmd, values)
    text = to_text(result)
    if result.ok:
        return StepOutcome(True, output=text)
    return StepOutcome(False, output=text, error=result.error.message if result.error else text)


async def _execute(
    ctx: CommandContext, spec: WorkflowSpec, run_id: int, done: set[str]
) -> CommandResult:
    from opencode.sessions.workflows.executor import WorkflowExecutor
    from opencode.sessions.workflows.repo import WorkflowRepo

    repo = WorkflowRepo(ctx.store)
    ctx.progress(
        f"workflow {spec.name}: run {run_id}"
        + (f" (resumed; done: {', '.join(sorted(done))})" if done else "")
    )
    summary = await WorkflowExecutor(
        spec, repo, step_executor(ctx, spec), progress=ctx.progress
    ).run(run_id, done)
    return await _summary_result(ctx, summary)


async def _summary_result(ctx: CommandContext, summary: RunSummary) -> CommandResult:
    from opencode.sessions.workflows.repo import WorkflowRepo

    run = await WorkflowRepo(ctx.store).run(summary.run_id)
    assert run is not None
    text = f"Workflow {run['name']} run {run['id']}: {summary.status.upper()}"
    if summary.error:
        text += f" ({summary.error}); continue with `opencode workflow resume {run['id']}`"
    return CommandResult(
        data=run,
        text=text,
        tables=[_steps_table(run)],
        exit_code=0 if summary.status == "ok" else 1,
        changed=frozenset({"workflow"}),
    )


def _steps_table(run: dict[str, Any]) -> Table:
    rows = []
    for step in run["steps"]:
        took = (
            f"{step['finished_at'] - step['started_at']:.1f}"
            if step["started_at"] and step["finished_at"]
            else ""
        )
        rows.append(
            [
                step["name"],
                step["kind"],
                step["status"],
                step["attempts"],
                took,
                (step["error"] or "")[:80],
            ]
        )
    return Table(["step", "kind", "status", "attempts", "s", "error"], rows)


@command(
    "workflow",
    "run",
    help="run a workflow file (or .opencode/workflows/NAME)",
    args=[
        Arg("file", positional=True, required=True, help="workflow .toml/.md file, or NAME"),
        Arg(
            "resume",
            option="--resume",
            flag=True,
            help="continue the last unfinished run of this file",
        ),
        Arg("max_parallel", option="--max-parallel", type=int, help="override max_parallel"),
    ],
)
async def workflow_run(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    import dataclasses

    from opencode.sessions.workflows.repo import WorkflowRepo

    path = resolve_file(ctx, args["file"])
    spec = _load(path)
    if args.get("max_parallel") is not None:
        if not 1 <= args["max_parallel"] <= 16:
            raise CommandError("--max-parallel must be from 1 to 16", exit_code=2)
        spec = dataclasses.replace(spec, max_parallel=args["max_parallel"])
    repo = WorkflowRepo(ctx.store)
    if args.get("resume"):
        run_id = await repo.latest_unfinished(str(spec.source))
        if run_id is not None:
            return await _resume(ctx, run_id, spec)
        ctx.progress(f"workflow {spec.name}: no unfinished run of {path}; starting a new one")
    run_id = await repo.create(spec, str(ctx.cwd))
    return await _execute(ctx, spec, run_id, set())


@command(
    "workflow",
    "resume",
    help="continue an interrupted or failed run (finished steps are not run again)",
    args=[Arg("run_id", positional=True, required=True, type=int, help="run id")],
)
async def workflow_resume(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.workflows.repo import WorkflowRepo

    run = await WorkflowRepo(ctx.store).run(args["run_id"])
    if run is None:
        raise CommandError(f"no workflow run {args['run_id']}; see `opencode workflow list`")
    return await _resume(ctx, run["id"], _load(Path(run["source"])))


async def _resume(ctx: CommandContext, run_id: int, spec: WorkflowSpec) -> CommandResult:
    from opencode.sessions.workflows.repo import WorkflowRepo

    repo = WorkflowRepo(ctx.store)
    run = await repo.run(run_id)
    assert run is not None
    if run["status"] == "ok":
        raise CommandError(f"workflow run {run_id} already finished ok; nothing to resume")
    if run["status"] == "running":
        raise CommandError(
            f"workflow run {run_id} is still running in process {run['pid']}",
            hint="wait for it, or stop that process first",
        )
    if run["spec_sha256"] != spec.sha256:
        raise CommandError(
            f"the steps in {spec.source} changed since run {run_id} started; finished steps "
            "may no longer mean the same",
            exit_code=2,
            hint=f"restore the file, or start a new run with `opencode workflow run {spec.source}`",
        )
    claim = await repo.claim(run_id)
    if not claim.won:
        # Between the look above and the claim another `workflow resume` took it (or ended it).
        if claim.status == "ok":
            raise CommandError(f"workflow run {run_id} already finished ok; nothing to resume")
        raise CommandError(
            f"workflow run {run_id} was resumed by another process ({claim.pid}) just now; "
            "its steps run there, not here",
            hint=f"follow it with `opencode workflow status {run_id}`",
        )
    claimed = await repo.run(run_id)  # the steps as the claim left them
    assert claimed is not None
    done = {s["name"] for s in claimed["steps"] if s["status"] == "ok"}
    return await _execute(ctx, spec, run_id, done)


@command(
    "workflow",
    "validate",
    help="check a workflow file (steps, needs, cycles) without running it",
    args=[Arg("file", positional=True, required=True, help="workflow file or NAME")],
)
async def workflow_validate(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.workflows.spec import topological_order

    spec = _load(resolve_file(ctx, args["file"]))
    order = topological_order(spec)
    rows = [
        [
            name,
            spec.steps[name].kind,
            ", ".join(spec.steps[name].needs),
            spec.steps[name].on_failure,
        ]
        for name in order
    ] + [[name, spec.steps[name].kind, "(on failure)", ""] for name in sorted(spec.handlers)]
    return CommandResult(
        data={"name": spec.name, "order": order, "handlers": sorted(spec.handlers)},
        text=f"Workflow {spec.name}: valid, {len(order)} step(s), max_parallel {spec.max_parallel}",
        tables=[Table(["step", "kind", "needs", "on_failure"], rows)],
    )


@command(
    "workflow",
    "list",
    help="past workflow runs (newest first)",
    args=[Arg("limit", option="--limit", type=int, default=20, help="at most N (default 20)")],
)
async def workflow_list(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    from opencode.sessions.workflows.repo import WorkflowRepo

    runs = await WorkflowRepo(ctx.store).runs(limit=args["limit"])
    if not runs:
        return CommandResult(data=[], text="No workflow runs yet (`opencode workflow run FILE`).")
    rows = [
        [r["id"], r["name"], r["status"], f"{r['steps_ok']}/{r['steps']}", _when(r["started_at"])]
        for r in runs
    ]
    return CommandResult(
        data=runs, tables=[Table(["id", "workflow", "status", "ok", "started"], rows)]
    )


@command(
    "workflow",
    "status",
    help="one run's steps (the latest run if no id)",
    args=[Arg("run_id", positional=True, type=int, help="run id")],
)
async def workflow_status(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    run = await _run_or_latest(ctx, args.get("run_id"))
    return CommandResult(
        data=run,
        text=f"Workflow {run['name']} run {run['id']}: {run['status'].upper()}"
        + (f" ({run['error']})" if run["error"] else ""),
        tables=[_steps_table(run)],
    )


@command(
    "workflow",
    "show",
    help="one run with every step's output",
    args=[Arg("run_id", positional=True, required=True, type=int, help="run id")],
)
async def workflow_show(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    run = await _run_or_latest(ctx, args["run_id"])
    parts = [f"Workflow {run['name']} run {run['id']}: {run['status'].upper()} ({run['source']})"]
    for step in run["steps"]:
        parts.append(
            f"\n## {step['name']} ({step['kind']}, {step['status']}, attempts {step['attempts']})"
        )
        if step["session_id"]:
            parts.append(f"session: {step['session_id']}")
        if step["error"]:
            parts.append(f"error: {step['error']}")
        if step["output"].strip():
            parts.append(step["output"].rstrip())
    return CommandResult(data=run, text="\n".join(parts))


async def _run_or_latest(ctx: CommandContext, run_id: int | None) -> dict[str, Any]:
    from opencode.sessions.workflows.repo import WorkflowRepo

    repo = WorkflowRepo(ctx.store)
    if run_id is None:
        latest = await repo.runs(limit=1)
        if not latest:
            raise CommandError(
                "no workflow runs yet", hint="start one with `opencode workflow run FILE`"
            )
        run_id = int(latest[0]["id"])
    run = await repo.run(run_id)
    if run is None:
        raise CommandError(f"no workflow run {run_id}; see `opencode workflow list`")
    return run


def _when(timestamp: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))
