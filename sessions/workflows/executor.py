"""Running a validated workflow: topological order, bounded parallelism, failure policies.

A step starts once every step it ``needs`` finished ok (or failed under ``on_failure =
"continue"``); at most ``max_parallel`` run at once. A failure under ``stop`` lets the steps
already running finish and starts nothing new. ``retry`` runs the step again up to
``retries`` times, running its ``on_failure_step`` handlers (a debugging agent, say) before
each new attempt; handlers cannot have handlers, so recovery is bounded by
``retries × handlers`` runs. Every transition is written to the store before it is reported.

How a step is executed is not this module's business: the caller passes ``execute`` (agent
turns and shell commands live in ``steps``; registry commands in ``opencode.commands``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opencode.sessions.workflows.repo import WorkflowRepo
    from opencode.sessions.workflows.spec import StepSpec, WorkflowSpec


@dataclass(slots=True)
class StepOutcome:
    ok: bool
    output: str = ""
    error: str = ""
    session_id: str | None = None


# In an on_failure_step handler's prompt or command: replaced by the failed step's error and output.
# The failure is the failing command's output, i.e. anyone's text: an agent prompt gets it as
# text, a registry command as one quoted argument, and a shell handler never as command-line
# text: it gets the environment variable FAILURE_ENV and ``{{failure}}`` becomes a quoted
# reference to it (see ``shell_reference``), so ``$(...)``, quotes and ``;`` in it stay data.
FAILURE_PLACEHOLDER = "{{failure}}"
FAILURE_ENV = "OPENCODE_FAILURE"
FAILURE_QUOTE_CHARS = 8_000

StepExecutor = Callable[["StepSpec"], Awaitable[StepOutcome]]


@dataclass(slots=True)
class RunSummary:
    run_id: int
    status: str  # ok | failed | interrupted
    statuses: dict[str, str] = field(default_factory=dict)
    error: str = ""


class WorkflowExecutor:
    def __init__(
        self,
        spec: WorkflowSpec,
        repo: WorkflowRepo,
        execute: StepExecutor,
        *,
        progress: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.spec = spec
        self.repo = repo
        self.execute = execute
        self.progress = progress

    async def run(self, run_id: int, done: set[str] | None = None) -> RunSummary:
        """Run every flow step not in ``done`` (steps a resumed run already finished)."""
        spec = self.spec
        status: dict[str, str] = {name: "pending" for name in spec.flow}
        for name in done or ():
            if name in status:
                status[name] = "ok"
        slots = asyncio.Semaphore(spec.max_parallel)
        running: dict[asyncio.Task[str], str] = {}
        stop_reason = ""

        def passed(name: str) -> bool:
            return status[name] == "ok" or (
                status[name] == "failed" and spec.steps[name].on_failure == "continue"
            )

        async def guarded(step: StepSpec) -> str:
            async with slots:
                return await self._with_policy(run_id, step)

        try:
            while True:
                if not stop_reason:
                    for name in spec.flow:
                        step = spec.steps[name]
                        if status[name] == "pending" and all(passed(n) for n in step.needs):
                            status[name] = "running"
                            running[asyncio.create_task(guarded(step), name=name)] = name
                if not running:
                    break
                finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    name = running.pop(task)
                    status[name] = task.result()
                    if status[name] == "failed" and spec.steps[name].on_failure != "continue":
                        stop_reason = stop_reason or f"step {name!r} failed"
        except asyncio.CancelledError:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            for name in running.values():
                await self.repo.set_status(run_id, name, "pending", "interrupted")
            await self.repo.run_finished(run_id, "interrupted", "interrupted")
            self.progress(
                f"workflow {spec.name}: run {run_id} interrupted; continue it with "
                f"`opencode workflow resume {run_id}`"
            )
            raise
        blocked = [n for n, s in status.items() if s == "pending"]
        if blocked and not stop_reason:
            failed = [n for n, s in status.items() if s == "failed"]
            stop_reason = f"step {failed[0]!r} failed" if failed else "steps could not start"
        for name in blocked:
            status[name] = "skipped"
            await self.repo.set_status(run_id, name, "skipped", f"not run: {stop_reason}")
        hard_failures = [
            n for n, s in status.items() if s == "failed" and spec.steps[n].on_failure != "continue"
        ]
        result = "failed" if hard_failures or blocked else "ok"
        await self.repo.run_finished(run_id, result, stop_reason if result == "failed" else "")
        return RunSummary(run_id, result, status, stop_reason if result == "failed" else "")

    async def _with_policy(self, run_id: int, step: StepSpec) -> str:
        attempts = 0
        while True:
            attempts += 1
            outcome = await self._attempt(run_id, step, attempts)
            if outcome.ok:
                return "ok"
            can_retry = step.on_failure == "retry" and attempts <= step.retries
            if not can_retry:
                return "failed"
            self.progress(
                f"step {step.name}: attempt {attempts} failed; "
                + (
                    f"running {', '.join(step.on_failure_step)} before retrying"
                    if step.on_failure_step
                    else "retrying"
                )
            )
            failure = f"step {step.name} ({step.action}) failed: {outcome.error}\n{outcome.output}"
            for handler in step.on_failure_step:
                spec = self.spec.steps[handler]
                # A handler's text may quote the failure it is meant to fix.
                spec = with_failure(spec, _tail(failure))
                fixed = await self._attempt(run_id, spec, None)
                if not fixed.ok:
                    await self.repo.set_status(
                        run_id,
                        step.name,
                        "failed",
                        f"{outcome.error or 'failed'}; then handler {handler!r} failed: "
                        f"{fixed.error or 'no detail'}",
                    )
                    return "failed"

    async def _attempt(self, run_id: int, step: StepSpec, attempt: int | None) -> StepOutcome:
        """Run ``step`` once and record it. ``attempt`` None: a handler, whose count grows."""
        if attempt is None:
            row = await self.repo.store.fetchone(
                "SELECT attempts FROM workflow_step WHERE run_id = ? AND name = ?",
                (run_id, step.name),
            )
            attempt = (int(row["attempts"]) if row else 0) + 1
        await self.repo.step_started(run_id, step.name, attempt)
        self.progress(f"step {step.name}: running ({step.kind})")
        started = time.monotonic()
        try:
            outcome = await self.execute(step)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a step's crash is that step's failure
            outcome = StepOutcome(False, error=f"{type(exc).__name__}: {exc}")
        await self.repo.step_finished(
            run_id,
            step.name,
            "ok" if outcome.ok else "failed",
            output=outcome.output,
            error=outcome.error,
            session_id=outcome.session_id,
        )
        took = time.monotonic() - started
        verdict = "ok" if outcome.ok else f"FAILED: {_first_line(outcome.error)}"
        self.progress(f"step {step.name}: {verdict} ({took:.1f} s)")
        return outcome


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no detail"
    return line if len(line) <= 160 else line[:157] + "..."


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= FAILURE_QUOTE_CHARS else "..." + text[-FAILURE_QUOTE_CHARS:]


def with_failure(step: StepSpec, failure: str) -> StepSpec:
    """A handler step with the failure it is meant to fix, in the form its kind can carry
    safely (see ``FAILURE_PLACEHOLDER``)."""
    if step.kind == "shell":
        return dataclasses.replace(
            step,
            action=shell_reference(step.action),
            env=(*step.env, (FAILURE_ENV, failure.replace("\x00", ""))),
        )
    if step.kind == "command":
        return dataclasses.replace(
            step, action=step.action.replace(FAILURE_PLACEHOLDER, shlex.quote(failure))
        )
    return dataclasses.replace(step, action=step.action.replace(FAILURE_PLACEHOLDER, failure))


def shell_reference(command: str) -> str:
    """``command`` with each ``{{failure}}`` replaced by a reference to ``$OPENCODE_FAILURE``
    quoted for where it stands: ``"$V"`` outside quotes, ``${V}`` inside double quotes, and
    closing/reopening single quotes around ``"$V"`` inside them. Whatever the spot, only the
    variable's *value* is ever seen by bash, so the text cannot become syntax."""
    var = FAILURE_ENV
    out: list[str] = []
    quote = ""  # "", "'", '"' or "$'"
    i = 0
    while i < len(command):
        if command.startswith(FAILURE_PLACEHOLDER, i):
            if quote == '"':
                out.append("${" + var + "}")
            elif quote == "'":
                out.append(f"'\"${var}\"'")
            elif quote == "$'":
                out.append(f"'\"${var}\"$'")
            else:
                out.append(f'"${var}"')
            i += len(FAILURE_PLACEHOLDER)
            continue
        char = command[i]
        if quote == "'" and char == "'":
            quote = ""
        elif quote == "$'" and char == "\\":
            out.append(command[i : i + 2])
            i += 2
            continue
        elif quote == "$'" and char == "'":
            quote = ""
        elif quote == '"' and char == "\\":
            out.append(command[i : i + 2])
            i += 2
            continue
        elif quote == '"' and char == '"':
            quote = ""
        elif not quote:
            if char == "\\":
                out.append(command[i : i + 2])
                i += 2
                continue
            if char == "$" and command.startswith("$'", i):
                quote = "$'"
                out.append("$'")
                i += 2
                continue
            if char in ("'", '"'):
                quote = char
        out.append(char)
        i += 1
    return "".join(out)
