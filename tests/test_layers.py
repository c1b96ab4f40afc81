"""Layer contracts as code: ``tui -> commands -> sessions``; headless modules never load Textual
or Rich; every import goes through the ``opencode`` namespace.

import-linter checks the static import graph (function-level imports included); a subprocess
then imports every headless module for real, which also catches a module that loads Textual
through a dependency or at run time.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("sessions", "commands", "tui")


def test_import_linter_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 kept, 0 broken" in proc.stdout, proc.stdout


PROBE = """
import importlib, pkgutil, sys
import opencode.sessions, opencode.commands
names = []
for pkg in (opencode.sessions, opencode.commands):
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        names.append(info.name)
        importlib.import_module(info.name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "rich"))
print(len(names))
print(",".join(loaded))
"""


def test_every_headless_module_imports_without_textual_or_rich(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    count, loaded = proc.stdout.splitlines()
    headless = [p for layer in ("sessions", "commands") for p in (ROOT / layer).rglob("*.py")]
    # Every module file was imported (walk_packages found them all), and none pulled in a UI lib.
    assert int(count) >= len([p for p in headless if p.name != "__init__.py"])
    assert loaded == "", f"headless modules loaded {loaded}"


def _bare_layer_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [
            f"{path.relative_to(ROOT)}:{node.lineno}: {n}"
            for n in names
            if n.split(".")[0] in LAYERS
        ]
    return found


def test_no_module_imports_a_layer_outside_the_opencode_namespace() -> None:
    # `import sessions` would load a second copy of a module (two class identities) in a
    # checkout, and fail in an installed wheel, which ships only `opencode`.
    files = [*(ROOT / "opencode").glob("*.py")] + [
        p
        for folder in (*LAYERS, "tests", "bench")
        for p in (ROOT / folder).rglob("*.py")
        if "fixtures" not in p.parts
    ]
    assert len(files) > 100
    offenders = [hit for path in files for hit in _bare_layer_imports(path)]
    assert offenders == []
