"""Cold-start figures for the command line (prints numbers; never pass/fail).

For each entry point: the best and median wall time of N fresh processes, and the cumulative
import time of its module as ``python -X importtime`` reports it, beside ``python -c pass``.
Harlequin's ``hsql --help`` (~170 ms) and ``toad --help`` (~285 ms) are the anchors; the goal
for ``opencode run --help`` is <= 100 ms on a 2-core machine.

Run from the repository root: ``python bench/cold_start.py [-n 15]``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES: list[tuple[str, list[str]]] = [
    ("python -c pass", ["-c", "pass"]),
    ("opencode --version", ["-m", "opencode", "--version"]),
    ("opencode run --help", ["-m", "opencode", "run", "--help"]),
    ("opencode session list", ["-m", "opencode", "session", "list"]),
    ("opencode --help", ["-m", "opencode", "--help"]),
]
MODULES = [
    "opencode.commands.cli",
    "opencode.commands.headless",
    "opencode.sessions.engine",
    "opencode.sessions.runner",
    "opencode.tui.app",
]


def wall_times(args: list[str], runs: int, cwd: Path) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, *args],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        times.append((time.perf_counter() - started) * 1000)
    return times


def import_ms(module: str, cwd: Path) -> float | None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    pattern = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| " + re.escape(module) + r"$")
    for line in proc.stderr.splitlines():
        match = pattern.search(line)
        if match:
            return int(match.group(1)) / 1000
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=15, help="fresh processes per case")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        print(f"wall time of a fresh process, {opts.n} runs (ms):")
        print(f"  {'command':28} {'best':>7} {'median':>7}")
        for label, args in CASES:
            times = wall_times(args, opts.n, cwd)
            print(f"  {label:28} {min(times):7.1f} {statistics.median(times):7.1f}")
        print("cumulative import time, best of 5 (ms):")
        for module in MODULES:
            samples = [t for t in (import_ms(module, cwd) for _ in range(5)) if t is not None]
            shown = f"{min(samples):7.1f}" if samples else "   n/a"
            print(f"  {module:34} {shown}")


if __name__ == "__main__":
    main()
