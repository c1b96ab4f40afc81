"""The one glob dialect and the gitignore rules (sessions/globs.py), checked against real git."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from opencode.commands.sync.source import matches as sync_matches
from opencode.sessions.globs import GlobError, GlobMatcher, IgnoreRules, glob_match, glob_regex
from opencode.sessions.tools.base import ToolContext
from opencode.sessions.tools.glob_tool import GlobTool
from opencode.sessions.tools.registry import execute


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("a/b/c.py", "**/*.py", True),
        ("c.py", "**/*.py", True),
        ("a/c.py", "*.py", False),
        ("a/b/c.md", "a/**", True),
        ("src/x.ts", "src/*.{ts,tsx}", True),
        ("src/x.tsx", "src/*.{ts,tsx}", True),
        ("src/x.js", "src/*.{ts,tsx}", False),
        ("b1.c", "{a,b{1,2}}.c", True),
        ("file1.txt", "file[0-9].txt", True),
        ("fileA.txt", "file[!0-9].txt", True),
        ("file1.txt", "file[!0-9].txt", False),
        ("a/b", "a[!x]b", False),  # a negated class never matches "/"
        ("a]b", "a[]]b", True),
        ("a*b", "a\\*b", True),
        ("axb", "a\\*b", False),
        ("ab", "a?b", False),
        ("a/b", "a?b", False),
        ("x^y", "x[\\^]y", True),
    ],
)
def test_glob_dialect(path: str, pattern: str, expected: bool) -> None:
    assert glob_match(path, pattern) is expected
    # [sync.categories] use the very same matcher.
    assert sync_matches(path, pattern) is expected


def test_name_patterns_match_at_any_depth() -> None:
    assert GlobMatcher.from_pattern("*.py").matches("deep/down/x.py")
    assert not GlobMatcher.from_pattern("./src/*.py").matches("lib/src/x.py")


def test_a_broken_glob_is_a_clear_error() -> None:
    with pytest.raises(GlobError, match="invalid glob pattern"):
        glob_regex("[z-a]")


def put(root: Path, rel: str, text: str = "x\n") -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_ignore_rules_nested_negation_anchoring_and_exclude(project: Path) -> None:
    put(project, ".git/info/exclude", "*.tmp\n")
    put(project, ".gitignore", "*.log\n/top.txt\nbuild/\n")
    put(project, "sub/.gitignore", "!keep.log\nlocal.txt\n")
    rules = IgnoreRules.above(project, project)
    sub = rules.enter(project / "sub")
    assert rules.ignored(project / "a.log", False)
    assert rules.ignored(project / "x.tmp", False)  # .git/info/exclude
    assert rules.ignored(project / "top.txt", False)
    assert not rules.ignored(project / "sub" / "top.txt", False)  # anchored to its file
    assert rules.ignored(project / "build", True)
    assert not rules.ignored(project / "build", False)  # "build/" names directories only
    assert sub.ignored(project / "sub" / "a.log", False)
    assert not sub.ignored(project / "sub" / "keep.log", False)  # deeper file re-includes
    assert sub.ignored(project / "sub" / "local.txt", False)
    assert not rules.ignored(project / "local.txt", False)  # sub's rule stays in sub


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_glob_lists_exactly_what_git_does_not_ignore(ctx: ToolContext, project: Path) -> None:
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    put(project, ".git/info/exclude", "*.tmp\n")
    put(project, ".gitignore", "*.log\n/top.txt\nbuild/\ndocs/*\n!docs/index.md\n")
    for rel in (
        "a.py",
        "a.log",
        "x.tmp",
        "top.txt",
        "sub/top.txt",
        "build/out.py",
        "deep/build/out.py",
        "docs/index.md",
        "docs/other.md",
        "sub/keep.log",
        "sub/local.txt",
        "sub/deeper/local.txt",
        "sub/deeper/note.log",
        "odd name [1].txt",
    ):
        put(project, rel)
    put(project, "sub/.gitignore", "!keep.log\nlocal.txt\n")
    git = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "-z"],
        cwd=project,
        capture_output=True,
        check=True,
    )
    expected = sorted(p for p in git.stdout.decode().split("\0") if p)
    result = asyncio.run(execute(GlobTool(), {"pattern": "**"}, ctx))
    assert sorted(result.output.splitlines()) == expected
    assert "sub/keep.log" in expected and "docs/index.md" in expected
