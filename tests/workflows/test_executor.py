"""The executor against a real SQLite store, with steps that are plain coroutines: parallelism
proven by a barrier (no timing), the bound on parallelism, and each failure policy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from opencode.sessions.store.db import Store
from opencode.sessions.workflows.executor import StepOutcome, WorkflowExecutor
from opencode.sessions.workflows.repo import WorkflowRepo
from opencode.sessions.workflows.spec import StepSpec, parse_workflow


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[WorkflowRepo]:
    store = await Store.open(tmp_path / "wf.db")
    try:
        yield WorkflowRepo(store)
    finally:
        await store.close()


async def _statuses(repo: WorkflowRepo, run_id: int) -> dict[str, tuple[str, int]]:
    run = await repo.run(run_id)
    assert run is not None
    return {s["name"]: (s["status"], s["attempts"]) for s in run["steps"]}


async def test_independent_steps_run_together(repo: WorkflowRepo) -> None:
    spec = parse_workflow(
        '[steps.a]\nshell = "a"\n[steps.b]\nshell = "b"\n[steps.c]\nshell = "c"\n'
        'needs = ["a", "b"]\n',
        Path("p.toml"),
    )
    barrier = asyncio.Barrier(2)
    order: list[str] = []

    async def execute(step: StepSpec) -> StepOutcome:
        if step.name in ("a", "b"):
            # Both must be inside at once, or this waits forever (bounded below).
            await asyncio.wait_for(barrier.wait(), 10)
        order.append(step.name)
        return StepOutcome(True, output=step.name)

    run_id = await repo.create(spec, "/")
    summary = await WorkflowExecutor(spec, repo, execute).run(run_id)
    assert summary.status == "ok"
    assert order[-1] == "c"
    assert await _statuses(repo, run_id) == {"a": ("ok", 1), "b": ("ok", 1), "c": ("ok", 1)}


async def test_max_parallel_bounds_concurrency(repo: WorkflowRepo) -> None:
    steps = "".join(f'[steps.s{i}]\nshell = "x"\n' for i in range(6))
    spec = parse_workflow(f"max_parallel = 2\n{steps}", Path("p.toml"))
    inside = 0
    peak = 0

    async def execute(step: StepSpec) -> StepOutcome:
        nonlocal inside, peak
        inside += 1
        peak = max(peak, inside)
        await asyncio.sleep(0.01)
        inside -= 1
        return StepOutcome(True)

    run_id = await repo.create(spec, "/")
    assert (await WorkflowExecutor(spec, repo, execute).run(run_id)).status == "ok"
    assert peak == 2


async def test_retry_runs_the_handler_then_passes(repo: WorkflowRepo) -> None:
    spec = parse_workflow(
        '[steps.verify]\nshell = "t"\non_failure = "retry"\nretries = 3\n'
        'on_failure_step = ["debug", "code"]\n'
        '[steps.debug]\nprompt = "why: {{failure}}"\n[steps.code]\nprompt = "c"\n'
        '[steps.docs]\nprompt = "w"\nneeds = ["verify"]\n',
        Path("p.toml"),
    )
    calls: list[str] = []
    fixed = False

    async def execute(step: StepSpec) -> StepOutcome:
        nonlocal fixed
        calls.append(step.name)
        if step.name == "debug":
            assert step.action.startswith("why: step verify (t) failed: 2 tests failed")
        if step.name == "code" and calls.count("code") == 2:
            fixed = True
        if step.name == "verify" and not fixed:
            return StepOutcome(False, error="2 tests failed")
        return StepOutcome(True)

    run_id = await repo.create(spec, "/")
    summary = await WorkflowExecutor(spec, repo, execute).run(run_id)
    assert summary.status == "ok"
    assert calls == ["verify", "debug", "code", "verify", "debug", "code", "verify", "docs"]
    assert await _statuses(repo, run_id) == {
        "verify": ("ok", 3),
        "debug": ("ok", 2),
        "code": ("ok", 2),
        "docs": ("ok", 1),
    }


async def test_retries_are_bounded_and_dependents_are_skipped(repo: WorkflowRepo) -> None:
    spec = parse_workflow(
        '[steps.verify]\nshell = "t"\nretries = 2\non_failure_step = "debug"\n'
        '[steps.debug]\nprompt = "d"\n[steps.docs]\nprompt = "w"\nneeds = ["verify"]\n',
        Path("p.toml"),
    )
    calls: list[str] = []

    async def execute(step: StepSpec) -> StepOutcome:
        calls.append(step.name)
        return StepOutcome(step.name != "verify", error="still red")

    run_id = await repo.create(spec, "/")
    summary = await WorkflowExecutor(spec, repo, execute).run(run_id)
    assert summary.status == "failed" and "verify" in summary.error
    assert calls == ["verify", "debug", "verify", "debug", "verify"]
    statuses = await _statuses(repo, run_id)
    assert statuses["verify"] == ("failed", 3)
    assert statuses["docs"] == ("skipped", 0)


async def test_continue_lets_dependents_run_and_a_crash_is_a_failure(repo: WorkflowRepo) -> None:
    spec = parse_workflow(
        '[steps.lint]\nshell = "l"\non_failure = "continue"\n'
        '[steps.build]\nshell = "b"\nneeds = ["lint"]\n',
        Path("p.toml"),
    )

    async def execute(step: StepSpec) -> StepOutcome:
        if step.name == "lint":
            raise RuntimeError("linter exploded")
        return StepOutcome(True)

    run_id = await repo.create(spec, "/")
    summary = await WorkflowExecutor(spec, repo, execute).run(run_id)
    assert summary.status == "ok"
    run = await repo.run(run_id)
    assert run is not None
    lint = next(s for s in run["steps"] if s["name"] == "lint")
    assert lint["status"] == "failed" and lint["error"] == "RuntimeError: linter exploded"
    assert (await _statuses(repo, run_id))["build"] == ("ok", 1)


async def test_stop_lets_running_steps_finish_and_starts_nothing_new(repo: WorkflowRepo) -> None:
    spec = parse_workflow(
        '[steps.fast]\nshell = "f"\n[steps.slow]\nshell = "s"\n'
        '[steps.after]\nshell = "a"\nneeds = ["slow"]\n',
        Path("p.toml"),
    )
    failed = asyncio.Event()

    async def execute(step: StepSpec) -> StepOutcome:
        if step.name == "fast":
            failed.set()
            return StepOutcome(False, error="boom")
        if step.name == "slow":
            await failed.wait()
        return StepOutcome(True)

    run_id = await repo.create(spec, "/")
    summary = await WorkflowExecutor(spec, repo, execute).run(run_id)
    assert summary.status == "failed"
    assert await _statuses(repo, run_id) == {
        "fast": ("failed", 1),
        "slow": ("ok", 1),
        "after": ("skipped", 0),
    }
