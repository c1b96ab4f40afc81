"""glob / grep / list over a real temp tree, with ignore rules and caps."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from opencode.sessions.tools.base import ToolContext, ToolResult
from opencode.sessions.tools.registry import execute
from opencode.sessions.tools.search import (
    MAX_GLOB_RESULTS,
    MAX_GREP_FILE_BYTES,
    MAX_GREP_MATCHES,
    MAX_LIST_PER_DIR,
    GlobTool,
    GrepTool,
    ListTool,
    expand_braces,
)


def put(root: Path, rel: str, text: str = "", mtime: float | None = None) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def tree(project: Path) -> Path:
    put(project, "a.py", "import os\nVALUE = 1\n", mtime=1_000)
    put(project, "src/b.py", "def f():\n    return VALUE\n", mtime=3_000)
    put(project, "src/deep/c.py", "VALUE = 2  # deep\n", mtime=2_000)
    put(project, "src/notes.txt", "value in prose\n", mtime=4_000)
    put(project, "node_modules/pkg/index.py", "VALUE = 'vendored'\n")
    put(project, ".git/config.py", "VALUE = 'git'\n")
    put(project, ".venv/lib/x.py", "VALUE = 'venv'\n")
    put(project, "src/__pycache__/b.cpython.py", "VALUE\n")
    put(project, ".gitignore", "build/\n*.log\n!keep.log\n/rooted.py\n")
    put(project, "build/gen.py", "VALUE = 'built'\n")
    put(project, "debug.log", "VALUE logged\n")
    put(project, "keep.log", "VALUE kept\n")
    put(project, "rooted.py", "VALUE = 'rooted'\n")
    put(project, "src/rooted.py", "VALUE = 'not rooted'\n", mtime=500)
    put(project, "pkg/.gitignore", "secret_*.py\n")
    put(project, "pkg/secret_x.py", "VALUE = 'nested ignore'\n")
    put(project, "pkg/public.py", "VALUE = 'public'\n", mtime=600)
    return project


async def run(tool: Any, ctx: ToolContext, **args: Any) -> ToolResult:
    return await execute(tool, args, ctx)


# ---------------------------------------------------------------------------- glob


async def test_glob_name_pattern_matches_at_any_depth_newest_first(
    ctx: ToolContext, tree: Path
) -> None:
    result = await run(GlobTool(), ctx, pattern="*.py")
    assert result.output.splitlines() == [
        "src/b.py",
        "src/deep/c.py",
        "a.py",
        "pkg/public.py",
        "src/rooted.py",
    ]
    assert result.metadata["count"] == 5


async def test_glob_path_patterns_are_anchored(ctx: ToolContext, tree: Path) -> None:
    direct = await run(GlobTool(), ctx, pattern="src/*.py")
    assert direct.output.splitlines() == ["src/b.py", "src/rooted.py"]
    deep = await run(GlobTool(), ctx, pattern="src/**/*.{py,txt}")
    assert set(deep.output.splitlines()) == {
        "src/notes.txt",
        "src/b.py",
        "src/deep/c.py",
        "src/rooted.py",
    }
    in_path = await run(GlobTool(), ctx, pattern="*.py", path="src/deep")
    assert in_path.output == "src/deep/c.py"


async def test_glob_absolute_pattern(ctx: ToolContext, tree: Path) -> None:
    result = await run(GlobTool(), ctx, pattern=f"{tree}/src/*.txt")
    assert result.output == "src/notes.txt"


async def test_glob_ignored_base_path_is_still_searched(ctx: ToolContext, tree: Path) -> None:
    result = await run(GlobTool(), ctx, pattern="*.py", path="build")
    assert result.output == "build/gen.py"


async def test_glob_cap_and_no_match(ctx: ToolContext, project: Path) -> None:
    for i in range(MAX_GLOB_RESULTS + 50):
        put(project, f"many/f{i:03}.md", mtime=10_000 + i)
    result = await run(GlobTool(), ctx, pattern="*.md")
    lines = result.output.splitlines()
    assert len(lines) == MAX_GLOB_RESULTS + 1
    assert lines[0] == f"many/f{MAX_GLOB_RESULTS + 49:03}.md"  # newest first
    assert lines[-1] == (
        f"(showing the {MAX_GLOB_RESULTS} newest of {MAX_GLOB_RESULTS + 50} matches; "
        "narrow the pattern or the path)"
    )
    assert result.metadata["truncated"] is True
    none = await run(GlobTool(), ctx, pattern="*.rs")
    assert not none.is_error and none.output == "No files match '*.rs' under ."


async def test_glob_missing_path(ctx: ToolContext) -> None:
    result = await run(GlobTool(), ctx, pattern="*", path="nowhere")
    assert result.is_error and "path not found: nowhere" in result.output


def test_brace_expansion() -> None:
    assert expand_braces("*.{ts,tsx}") == ["*.ts", "*.tsx"]
    assert expand_braces("{a,b{1,2}}.c") == ["a.c", "b1.c", "b2.c"]
    assert expand_braces("{single}.c") == ["{single}.c"]


# ---------------------------------------------------------------------------- grep


async def test_grep_lists_path_line_text_and_honours_ignores(ctx: ToolContext, tree: Path) -> None:
    result = await run(GrepTool(), ctx, pattern=r"VALUE\b")
    lines = result.output.splitlines()
    assert lines[0] == f"{len(lines) - 1} matches in 6 files"
    assert set(lines[1:]) == {
        "a.py:2: VALUE = 1",
        "keep.log:1: VALUE kept",
        "pkg/public.py:1: VALUE = 'public'",
        "src/b.py:2:     return VALUE",
        "src/deep/c.py:1: VALUE = 2  # deep",
        "src/rooted.py:1: VALUE = 'not rooted'",
    }


async def test_grep_include_and_single_file(ctx: ToolContext, tree: Path) -> None:
    only_txt = await run(GrepTool(), ctx, pattern="(?i)value", include="*.txt")
    assert only_txt.output.splitlines()[1:] == ["src/notes.txt:1: value in prose"]
    one = await run(GrepTool(), ctx, pattern="return", path="src/b.py")
    assert one.output.splitlines()[1:] == ["src/b.py:2:     return VALUE"]


async def test_grep_skips_binary_and_large_files(ctx: ToolContext, project: Path) -> None:
    (project / "bin.dat").write_bytes(b"NEEDLE\x00\x01\x02")
    big = project / "big.txt"
    big.write_bytes(b"NEEDLE\n" + b"x" * MAX_GREP_FILE_BYTES)
    put(project, "small.txt", "a NEEDLE here\n")
    result = await run(GrepTool(), ctx, pattern="NEEDLE")
    assert result.output.splitlines() == [
        "1 match in 1 file",
        "small.txt:1: a NEEDLE here",
        "(1 file over 2 MB not searched)",
    ]


async def test_grep_caps_matches(ctx: ToolContext, project: Path) -> None:
    put(project, "many.txt", "hit\n" * (MAX_GREP_MATCHES + 100))
    result = await run(GrepTool(), ctx, pattern="hit")
    lines = result.output.splitlines()
    assert len(lines) == MAX_GREP_MATCHES + 2
    assert lines[-1].startswith(f"(showing the first {MAX_GREP_MATCHES} matches; there are more")
    assert result.metadata["truncated"] is True


async def test_grep_invalid_regex_and_no_match(ctx: ToolContext, tree: Path) -> None:
    bad = await run(GrepTool(), ctx, pattern="foo(")
    assert bad.is_error
    assert bad.output.startswith("invalid regular expression 'foo(': missing ), unterminated")
    assert "backslash" in bad.output
    none = await run(GrepTool(), ctx, pattern="zzz_absent")
    assert not none.is_error and none.output == "No matches for 'zzz_absent' under ."


# ---------------------------------------------------------------------------- list


async def test_list_is_two_levels_deep_and_skips_ignored(ctx: ToolContext, tree: Path) -> None:
    result = await run(ListTool(), ctx)
    assert result.output.splitlines() == [
        "./",
        "  pkg/",
        "    .gitignore",
        "    public.py",
        "  src/",
        "    deep/",
        "    b.py",
        "    notes.txt",
        "    rooted.py",
        "  .gitignore",
        "  a.py",
        "  keep.log",
    ]


async def test_list_caps_a_crowded_directory(ctx: ToolContext, project: Path) -> None:
    for i in range(MAX_LIST_PER_DIR + 5):
        put(project, f"crowd/f{i:03}.txt")
    result = await run(ListTool(), ctx, path="crowd")
    lines = result.output.splitlines()
    assert lines[0] == "crowd/"
    assert len(lines) == MAX_LIST_PER_DIR + 2
    assert lines[-1] == "  … and 5 more"


async def test_list_empty_and_file_path(ctx: ToolContext, project: Path) -> None:
    (project / "empty").mkdir()
    assert (await run(ListTool(), ctx, path="empty")).output == "empty/\n  (empty)"
    put(project, "f.txt")
    as_file = await run(ListTool(), ctx, path="f.txt")
    assert as_file.is_error and "f.txt is a file, not a directory" in as_file.output


def test_search_subjects_ask_outside_cwd(project: Path) -> None:
    assert GrepTool().permission_subject({"pattern": "x"}, project).default is None
    outside = GlobTool().permission_subject({"pattern": "*", "path": "/"}, project)
    assert outside.subject == "/" and outside.default == "ask"


async def test_grep_walk_skips_env_files_unless_named(ctx: ToolContext, project: Path) -> None:
    put(project, ".env", "API_KEY=sk-secret\n")
    put(project, "settings.py", "API_KEY = os.environ['API_KEY']\n")
    wide = await run(GrepTool(), ctx, pattern="API_KEY")
    assert "sk-secret" not in wide.output
    assert wide.output.splitlines()[1:] == ["settings.py:1: API_KEY = os.environ['API_KEY']"]
    named = await run(GrepTool(), ctx, pattern="API_KEY", path=".env")
    assert named.output.splitlines()[1:] == [".env:1: API_KEY=sk-secret"]
    assert GrepTool().permission_subject({"pattern": "x", "path": ".env"}, project).default == (
        "ask"
    )


async def test_glob_literal_prefix_sets_the_walk_and_the_subject(
    ctx: ToolContext, tree: Path, tmp_path: Path
) -> None:
    put(tmp_path, "sibling/x.md", "x")
    subject = GlobTool().permission_subject({"pattern": "../sibling/*.md"}, tree)
    assert subject.subject == str(tmp_path / "sibling") and subject.default == "ask"
    result = await run(GlobTool(), ctx, pattern="../sibling/*.md")
    assert result.output == str(tmp_path / "sibling" / "x.md")
    etc = GlobTool().permission_subject({"pattern": "/etc/*.conf"}, tree)
    assert etc.subject == "/etc" and etc.default == "ask"
    inside = GlobTool().permission_subject({"pattern": "src/**/*.py"}, tree)
    assert inside.subject == "src" and inside.default is None


async def test_grep_line_anchors_crlf_and_lookarounds(ctx: ToolContext, project: Path) -> None:
    (project / "win.txt").write_bytes(b"alpha end\r\n  beta end\r\n")
    put(project, "unix.txt", "x\n\nalpha\n")
    anchored = await run(GrepTool(), ctx, pattern="^alpha")
    assert anchored.output.splitlines()[1:] == ["unix.txt:3: alpha", "win.txt:1: alpha end"]
    line_end = await run(GrepTool(), ctx, pattern="end$")
    assert line_end.output.splitlines()[1:] == ["win.txt:1: alpha end", "win.txt:2:   beta end"]
    # At a line start nothing precedes, so a negative lookbehind for whitespace matches there.
    lookbehind = await run(GrepTool(), ctx, pattern=r"(?<!\s)alpha")
    assert len(lookbehind.output.splitlines()) == 3
    empty = await run(GrepTool(), ctx, pattern="^$", include="unix.txt")
    assert empty.output.splitlines()[1:] == ["unix.txt:2: "]
