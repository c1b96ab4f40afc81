"""The starter AGENTS.md ``opencode init`` writes: what a quick look at the project shows
(languages by file extension, the test command from pyproject/package.json/Makefile/Cargo/go,
the top-level folders). Reads files only; bounded walk; no subprocess."""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections import Counter
from pathlib import Path

MAX_FILES = 20_000
SKIP_DIRS = {
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    "dist",
    "build",
    "target",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".tox",
    ".idea",
    ".vscode",
}
LANGUAGES = {
    ".py": "Python",
    ".ts": "TypeScript",
    ".tsx": "TypeScript",
    ".js": "JavaScript",
    ".jsx": "JavaScript",
    ".mjs": "JavaScript",
    ".go": "Go",
    ".rs": "Rust",
    ".java": "Java",
    ".kt": "Kotlin",
    ".rb": "Ruby",
    ".php": "PHP",
    ".c": "C",
    ".h": "C",
    ".cc": "C++",
    ".cpp": "C++",
    ".hpp": "C++",
    ".cs": "C#",
    ".swift": "Swift",
    ".scala": "Scala",
    ".sh": "Shell",
    ".lua": "Lua",
    ".ex": "Elixir",
    ".exs": "Elixir",
    ".zig": "Zig",
    ".dart": "Dart",
    ".sql": "SQL",
    ".css": "CSS",
    ".scss": "CSS",
    ".html": "HTML",
    ".vue": "Vue",
    ".svelte": "Svelte",
}


def count_languages(root: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    seen = 0
    for _folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in files:
            seen += 1
            if seen > MAX_FILES:
                return counts
            language = LANGUAGES.get(Path(name).suffix.lower())
            if language:
                counts[language] += 1
    return counts


def detect_test_commands(root: Path) -> list[tuple[str, str]]:
    """(command, where it came from) for each build file found."""
    found: list[tuple[str, str]] = []
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            data = {}
        tool = data.get("tool", {}) if isinstance(data, dict) else {}
        text = pyproject.read_text(encoding="utf-8", errors="replace")
        if "pytest" in tool or "pytest" in text:
            found.append(("python -m pytest", "pyproject.toml"))
    package = root / "package.json"
    if package.is_file():
        try:
            scripts = json.loads(package.read_text(encoding="utf-8")).get("scripts", {})
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            scripts = {}
        if isinstance(scripts, dict) and "test" in scripts:
            found.append(("npm test", "package.json"))
    makefile = root / "Makefile"
    if makefile.is_file():
        text = makefile.read_text(encoding="utf-8", errors="replace")
        if re.search(r"^test\s*:", text, re.MULTILINE):
            found.append(("make test", "Makefile"))
    if (root / "Cargo.toml").is_file():
        found.append(("cargo test", "Cargo.toml"))
    if (root / "go.mod").is_file():
        found.append(("go test ./...", "go.mod"))
    return found


def starter_agents_md(root: Path) -> str:
    languages = count_languages(root)
    folders = sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and p.name not in SKIP_DIRS and not p.name.startswith(".")
    )
    lines = [
        "# AGENTS.md",
        "",
        "Instructions for coding agents in this repository (read by opencode and other agents",
        "that use AGENTS.md). Keep it short; include more with `@path/to/file.md`.",
        "",
        "## Languages",
        "",
    ]
    if languages:
        lines += [
            f"- {name} ({count} file{'s' if count != 1 else ''})"
            for name, count in languages.most_common(8)
        ]
    else:
        lines.append("- (none recognised yet)")
    lines += ["", "## Commands", ""]
    tests = detect_test_commands(root)
    if tests:
        lines += [f"- Test: `{cmd}` (from {source})" for cmd, source in tests]
    else:
        lines.append("- Test: (add the command that runs the tests)")
    lines += ["", "## Layout", ""]
    if folders:
        lines += [f"- `{name}/`: (what lives here)" for name in folders[:30]]
    else:
        lines.append("- (a single folder)")
    lines += [
        "",
        "## Conventions",
        "",
        "- (code style, naming, what to avoid, how to commit)",
        "",
    ]
    return "\n".join(lines)
