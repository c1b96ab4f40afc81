"""No import cycle in the sync, backlog, target and verify packages.

Two checks: every module imports on its own in a fresh interpreter (a cycle between top-level
imports fails for some entry module), and the graph of *all* imports between these modules,
including imports inside functions and under TYPE_CHECKING, has no cycle, so no function-level
import is left hiding one.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import opencode

ROOT = Path(opencode.__file__).parent
PACKAGES = ("commands/sync", "commands/backlog", "commands/target", "commands/verify")
EXTRA = ("sessions/git.py",)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    files = [p for pkg in PACKAGES for p in sorted((ROOT / pkg).glob("*.py"))]
    files += [ROOT / extra for extra in EXTRA]
    for path in files:
        rel = path.relative_to(ROOT).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        found[".".join(("opencode", *parts))] = path
    return found


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT.parent)}
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-c", f"import {name}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=ROOT.parent,
        )
        for name in _modules()
    }
    failures = {}
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            failures[name] = out.strip().splitlines()[-1:]
    assert len(procs) >= 25
    assert failures == {}


def _imported(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module of ``known`` that ``name`` imports, anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets.add(base)
            targets |= {f"{base}.{alias.name}" for alias in node.names}
    return {t for t in targets if t in known and t != name}


def test_no_cycle_even_through_function_level_imports() -> None:
    modules = _modules()
    graph = {name: _imported(name, path, set(modules)) for name, path in modules.items()}
    assert "opencode.commands.sync.env" in graph["opencode.commands.sync.verify"]
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []
