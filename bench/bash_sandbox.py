"""What the bash sandbox and the rule parser cost per call (prints figures; never pass/fail).

1. Wall time of the bash tool running `true`: unsandboxed (supervisor only) vs in bwrap.
2. Time to parse and judge a command line under the example rules (bashlex), short and long.

Run from the repository root: `python bench/bash_sandbox.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opencode.sessions.config import PermissionConfig, SandboxConfig  # noqa: E402
from opencode.sessions.tools.permissions import Permissions  # noqa: E402
from opencode.sessions.tools.shell import mode_for, run_command  # noqa: E402

RULES = (("*", "ask"), ("git status*", "allow"), ("ls*", "allow"), ("rm*", "deny"))


async def tool_ms(config: SandboxConfig, cwd: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await run_command("true", cwd, 10, asyncio.Event(), mode_for("true", config, cwd), config)
        times.append((time.perf_counter() - started) * 1000)
    return times


def judge_ms(command: str, cwd: Path, runs: int) -> list[float]:
    perms = Permissions(PermissionConfig(bash=RULES), cwd, sandbox=SandboxConfig())
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        perms.explain_bash(command)
        times.append((time.perf_counter() - started) * 1000)
    return times


def show(label: str, times: list[float]) -> None:
    print(f"{label:<44} median {statistics.median(times):7.2f} ms   max {max(times):7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        show("bash `true`, unsandboxed", asyncio.run(tool_ms(SandboxConfig(False), cwd, runs)))
        show("bash `true`, bwrap", asyncio.run(tool_ms(SandboxConfig(), cwd, runs)))
        short = "git status && ls -la | head"
        long = " && ".join(f"ls dir{i} > out{i}.txt" for i in range(100))
        show(f"judge {short!r}", judge_ms(short, cwd, runs))
        show("judge 100 chained commands (3 KB)", judge_ms(long, cwd, runs))


if __name__ == "__main__":
    main()
