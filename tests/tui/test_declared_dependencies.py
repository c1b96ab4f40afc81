"""Every third-party package the TUI imports is declared in ``pyproject.toml`` dependencies
(a package that only arrives as a dependency of a dependency can vanish with its next release)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = set()
    for requirement in project["dependencies"]:
        match = re.match(r"[A-Za-z0-9_.-]+", requirement)
        assert match, requirement
        names.add(match.group(0).lower().replace("_", "-"))
    return names


def _imported_top_level(folder: Path) -> set[str]:
    found: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"opencode", "__future__"}


def test_every_third_party_import_of_the_tui_is_declared() -> None:
    distributions = packages_distributions()
    declared = _declared()
    missing = []
    for module in sorted(_imported_top_level(ROOT / "tui")):
        dists = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not dists & declared:
            missing.append(f"{module} (distribution {', '.join(sorted(dists))})")
    assert missing == [], f"add to [project] dependencies in pyproject.toml: {missing}"
