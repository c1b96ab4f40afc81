"""Cost the protected-paths guard adds to every sandboxed bash call: snapshot + check, in a
real checkout (default: this repository) and in one with many submodule git dirs.

    PYTHONPATH=$PWD python bench/sandbox_guard.py [WORKSPACE]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from opencode.sessions.tools.protected import Guard
from opencode.sessions.tools.sandbox import guarded_outside


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    runs = 200
    start = time.perf_counter()
    for _ in range(runs):
        Guard(root, guarded_outside(root), restore_existing=False).undo()
    per = (time.perf_counter() - start) / runs * 1000
    print(f"guard snapshot+check in {root}: {per:.2f} ms per bash call ({runs} runs)")


if __name__ == "__main__":
    main()
