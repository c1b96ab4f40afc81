"""What the bash snapshot (for rewind) adds to one bash call (prints figures; never pass/fail).

A workspace of N files (default 10,000: 100 directories of 100 files of 1-4 KiB, a
.gitignore, an ignored build/ folder) is snapshotted as the ToolCalls do around a bash call:
``before_call`` then ``after_call``. Figures:

1. the first call of a session (every file read once: the cold cost);
2. a call when nothing changed (the goal: <= 150 ms on 10k files), median and worst;
3. a call that changed 10 files, created 5 and deleted 5.

Run from the repository root: `python bench/bash_snapshot.py [--files N] [--runs R]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opencode.sessions.rewind.snapshots import SnapshotBudget, WorkspaceSnapshot  # noqa: E402


def make_workspace(root: Path, files: int) -> None:
    per_dir = 100
    (root / ".gitignore").write_text("build/\n*.log\n")
    (root / "build").mkdir()
    for i in range(2000):  # ignored: must cost nothing
        (root / "build" / f"out{i}.o").write_bytes(b"\0" * 64)
    for i in range(files):
        d = root / f"pkg{i // per_dir:03d}" / ("sub" if i % 3 == 0 else "")
        d.mkdir(parents=True, exist_ok=True)
        (d / f"mod{i}.py").write_bytes(os.urandom(512).hex().encode() * (1 + i % 4))
    # Old mtimes, as a real checkout has: nothing is "racy".
    past = time.time() - 3600
    for path in root.rglob("*"):
        os.utime(path, (past, past))


def call(snapshot: WorkspaceSnapshot) -> tuple[float, int]:
    started = time.perf_counter()
    snapshot.before_call()
    changes, _ = snapshot.after_call()
    return (time.perf_counter() - started) * 1000, len(changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_workspace(root, args.files)
        snapshot = WorkspaceSnapshot(root, SnapshotBudget())
        cold, _ = call(snapshot)
        print(f"workspace: {args.files} files, {snapshot.kept_bytes / 1e6:.1f} MB kept in memory")
        print(f"first bash call of a session (reads every file): {cold:.0f} ms")
        times = [call(snapshot)[0] for _ in range(args.runs)]
        print(
            f"bash call, nothing changed: median {statistics.median(times):.1f} ms,"
            f" worst {max(times):.1f} ms over {args.runs} calls (goal <= 150 ms)"
        )
        paths = sorted(p for p in snapshot.keys if p.endswith(".py"))
        started = time.perf_counter()
        for path in paths:
            os.lstat(path)
        floor = (time.perf_counter() - started) * 1000
        print(f"(floor on this machine: one lstat of every file = {floor:.1f} ms; a call does two)")
        changed = []
        for run in range(5):
            snapshot.before_call()
            started = time.perf_counter()
            for i in range(10):
                Path(paths[(run * 20 + i) * 37]).write_text(f"changed {run}\n")
            for i in range(5):
                (root / "pkg050" / f"new{run}_{i}.py").write_text("new\n")
                Path(paths[(run * 20 + 10 + i) * 37]).unlink()
            changes, _ = snapshot.after_call()
            changed.append(((time.perf_counter() - started) * 1000, len(changes)))
            paths = sorted(p for p in snapshot.keys if p.endswith(".py"))
        print(
            "bash call that changed 10, created 5, deleted 5 files: "
            f"median {statistics.median(t for t, _ in changed):.1f} ms "
            f"({changed[0][1]} changes recorded)"
        )


if __name__ == "__main__":
    main()
