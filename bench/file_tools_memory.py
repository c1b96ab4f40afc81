"""Peak memory of the file tools on huge inputs (prints figures; never pass/fail).

For a generated file that is one line of ``--mb`` MiB (default 300), each tool runs in a fresh
process and the process's peak RSS (``ru_maxrss``) is printed beside a baseline process that
only imports the tools, with the size of the tool's output.

Run from the repository root: ``python bench/file_tools_memory.py [--mb 300]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import asyncio, json, resource, sys
from pathlib import Path
from opencode.sessions.tools.base import ToolContext
from opencode.sessions.tools.registry import builtin_tools, execute

async def noop(path, before):
    return None

tool, args = sys.argv[1], json.loads(sys.argv[2])
ctx = ToolContext(cwd=Path.cwd(), session_id="bench", call_id="1", record_change=noop)
out = 0
if tool != "baseline":
    result = asyncio.run(execute(builtin_tools()[tool], args, ctx))
    out = len(result.output)
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_mib": peak_kib / 1024, "output_chars": out}))
"""


def measure(project: Path, tool: str, args: dict[str, object]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, tool, json.dumps(args)],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=300, help="size of the one-line file in MiB")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        block = b"0123456789abcdef" * 65536
        with (project / "huge.txt").open("wb") as fh:
            for _ in range(opts.mb):
                fh.write(block)
            fh.write(b"\n")
        runs: list[tuple[str, str, dict[str, object]]] = [
            ("baseline (import only)", "baseline", {}),
            ("read huge.txt", "read", {"path": "huge.txt"}),
            ("grep 'abc' huge.txt", "grep", {"pattern": "abc", "path": "huge.txt"}),
            ("grep 'abc' (walk)", "grep", {"pattern": "abc"}),
        ]
        print(f"one-line file of {opts.mb} MiB")
        for label, tool, args in runs:
            figures = measure(project, tool, args)
            print(
                f"{label:<26} peak RSS {figures['peak_mib']:8.1f} MiB   "
                f"output {int(figures['output_chars']):>7} chars"
            )


if __name__ == "__main__":
    main()
