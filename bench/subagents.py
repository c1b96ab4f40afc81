"""Subagent benchmark: parallel speed-up of 4 independent ``task`` children (prints figures;
never pass/fail).

The parent's first step calls ``task`` 4 times; every model reply (parent and children) comes
from a loopback server after 300 ms of think time (``first_byte_delay``), as a real model's
first-token latency. The same turn runs with ``[agents] max_parallel = 4`` (parallel) and
``= 1`` (one child after another, the same code path). Figures, median of the runs:

- the task step: from the first ``task`` call starting to the last one finishing
  (goal: sequential / parallel >= 3.5x);
- the whole turn, which also holds the parent's own two model calls.

Each child runs ``--child-steps`` model calls (default 1; 2 adds a ``list`` tool call first).
Run from the repository root: ``python bench/subagents.py [--runs 5] [--think 0.3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# The bench's projects are throwaway folders with their own opencode.toml (providers that
# point at its loopback servers): trust them, as a user would trust their own project.
os.environ.setdefault("OPENCODE_TRUST_PROJECT", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.agents.routing_server import (  # noqa: E402
    RoutingServer,
    first_user,
    last_role,
    task_calls,
    text,
    tool_calls,
)
from tests.engine.helpers import write_config  # noqa: E402
from tests.support.stream_server import Reply  # noqa: E402

CHILDREN = 4


def make_route(think: float, child_steps: int) -> Any:
    def route(body: dict[str, Any]) -> Reply:
        reply: Reply
        if first_user(body).startswith("child"):
            done = sum(1 for m in body["messages"] if m["role"] == "tool")
            if done + 1 < child_steps:
                reply = tool_calls((f"call_l{done}", "list", {"path": "."}))
            else:
                reply = text(f"answer of {first_user(body)}")
        elif last_role(body) == "user":
            reply = task_calls(*[(f"job {i}", f"child{i}", None) for i in range(CHILDREN)])
        else:
            reply = text("all done")
        reply.first_byte_delay = think
        return reply

    return route


async def one_turn(project: Path) -> tuple[float, float]:
    from opencode.sessions.config import load_config
    from opencode.sessions.engine import Engine
    from opencode.sessions.events import SessionEvent, ToolFinished, ToolStarted
    from opencode.sessions.permissions_api import PermissionAnswer, PermissionRequest

    async def allow(request: PermissionRequest) -> PermissionAnswer:
        return "allow_once"

    engine = Engine(load_config(project), project)
    marks: dict[str, float] = {}

    def watch(event: SessionEvent) -> None:
        if isinstance(event, ToolStarted | ToolFinished) and event.tool == "task":
            now = time.perf_counter()
            if isinstance(event, ToolStarted):
                marks.setdefault("first_start", now)
            else:
                marks["last_finish"] = now

    engine.bus.subscribe(watch)
    await engine.open(allow)
    try:
        started = time.perf_counter()
        result = await engine.send("split the work")
        whole = time.perf_counter() - started
    finally:
        await engine.close()
    if result.finish != "stop":
        raise SystemExit(f"turn ended with {result.finish}: {result.error}")
    return marks["last_finish"] - marks["first_start"], whole


def measure(parallel: int, runs: int, think: float, child_steps: int) -> tuple[float, float]:
    steps, wholes = [], []
    with RoutingServer(make_route(think, child_steps)) as server:
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                project = Path(tmp)
                os.environ["OPENCODE_DATA_DIR"] = str(project / "data")
                os.environ["XDG_CONFIG_HOME"] = str(project / "home")
                write_config(
                    project, "openai", server.url, f"[agents]\nmax_parallel = {parallel}\n"
                )
                os.environ["OPENCODE_CONFIG"] = str(project / "opencode.toml")
                step, whole = asyncio.run(one_turn(project))
                steps.append(step)
                wholes.append(whole)
    return statistics.median(steps), statistics.median(wholes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--think", type=float, default=0.3, help="seconds before the first byte")
    parser.add_argument("--child-steps", type=int, default=1)
    opts = parser.parse_args()
    par_step, par_whole = measure(CHILDREN, opts.runs, opts.think, opts.child_steps)
    seq_step, seq_whole = measure(1, opts.runs, opts.think, opts.child_steps)
    print(
        f"{CHILDREN} subagents, {opts.child_steps} model call(s) each, "
        f"think {opts.think * 1000:.0f} ms, median of {opts.runs}"
    )
    print(
        f"task step  parallel {par_step * 1000:7.0f} ms  sequential {seq_step * 1000:7.0f} ms"
        f"  speed-up {seq_step / par_step:.2f}x (goal >= 3.5x)"
    )
    print(
        f"whole turn parallel {par_whole * 1000:7.0f} ms  sequential {seq_whole * 1000:7.0f} ms"
        f"  speed-up {seq_whole / par_whole:.2f}x"
    )


if __name__ == "__main__":
    main()
