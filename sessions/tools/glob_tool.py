"""The ``glob`` tool: files by name pattern below a directory, newest first.

The pattern's leading literal directories move into the walk's base (``src/*.py`` walks
``src``; ``/etc/*.conf`` walks ``/etc``), and that resolved base is the permission subject. A
pattern without ``/`` matches file names at any depth (``*.py`` is ``**/*.py``), like ripgrep's
``--glob``. Matching is ``opencode.sessions.globs``; walking is ``opencode.sessions.tools.walk``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.sessions.globs import GLOB_MAGIC, GlobError, GlobMatcher, glob_regex
from opencode.sessions.tools.base import PermissionSubject, ToolContext, ToolError, ToolResult
from opencode.sessions.tools.paths import display_path, path_subject, run_blocking
from opencode.sessions.tools.walk import Tree, base_dir, dir_subject, plural

MAX_GLOB_RESULTS = 200


class GlobTool:
    name = "glob"
    description = (
        "Find files by name pattern, newest first (by modification time). `**` matches any "
        "number of directories, `*` any characters within a name, `{a,b}` either; a pattern "
        "without `/` matches file names at any depth (`*.py` finds every Python file). "
        f"At most {MAX_GLOB_RESULTS} results. Skips .git, node_modules, .venv, __pycache__ and "
        ".gitignore'd files."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "pattern": {
                "type": "string",
                "description": "Glob, e.g. `**/*.ts`, `src/*.py`, `test_*.{py,pyi}`.",
            },
            "path": {
                "type": "string",
                "description": "Directory to search (default: the working directory).",
            },
        },
        "required": ["pattern"],
    }

    def permission_subject(self, args: dict[str, Any], cwd: Path) -> PermissionSubject:
        # The walk starts where the pattern's literal directories lead, maybe outside cwd.
        try:
            base, _, _ = split_glob(str(args.get("pattern", "")), base_dir(args, cwd))
        except ToolError:
            return dir_subject(args, cwd)
        return path_subject(str(base), cwd)

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        pattern = str(args.get("pattern", "")).strip()
        if not pattern:
            raise ToolError("argument 'pattern' must be a non-empty glob such as **/*.py")
        base, rest, anchored = split_glob(pattern, base_dir(args, ctx.cwd))
        try:
            matcher = GlobMatcher(glob_regex(rest), by_name=not anchored)
        except GlobError as exc:
            raise ToolError(str(exc)) from None
        return await run_blocking(lambda: _glob(base, matcher, pattern, ctx), f"glob {pattern!r}")


def split_glob(pattern: str, base: Path) -> tuple[Path, str, bool]:
    """Move the pattern's leading literal directories into the base: ``src/*.py`` under
    ``.`` walks ``src`` for ``*.py``; ``/etc/*.conf`` walks ``/etc``. Returns (directory to
    walk, resolved; the rest of the pattern; whether that rest is matched against the path
    below the directory rather than against file names)."""
    pattern = pattern.strip()
    while pattern.startswith("./"):
        pattern = pattern[2:]
    anchored = "/" in pattern
    parts = pattern.split("/")
    literal: list[str] = []
    for part in parts[:-1]:
        if GLOB_MAGIC.search(part):
            break
        literal.append(part)
    if pattern.startswith("/"):
        walk = Path("/" + "/".join(literal[1:]))
    else:
        walk = base.joinpath(*literal) if literal else base
    rest = "/".join(parts[len(literal) :])
    return walk.resolve(), rest, anchored


def _glob(base: Path, matcher: GlobMatcher, pattern: str, ctx: ToolContext) -> ToolResult:
    found: list[tuple[float, Path]] = []
    tree = Tree(base, ctx.cwd)
    if base.is_dir():
        for entry in tree.files(ctx.cancel):
            if matcher.matches(entry.path.relative_to(base).as_posix()):
                try:
                    found.append((entry.target.stat().st_mtime, entry.path))
                except OSError:
                    continue
    notes: list[str] = []
    if tree.links_outside:
        notes.append(
            f"({plural(tree.links_outside, 'symlink')} pointing outside "
            f"{display_path(tree.boundary, ctx.cwd)} skipped)"
        )
    meta: dict[str, Any] = {"count": len(found), "links_outside": tree.links_outside}
    if not found:
        text = f"No files match {pattern!r} under {display_path(base, ctx.cwd)}"
        meta["count"] = 0
        return ToolResult("\n".join([text, *notes]), metadata=meta)
    found.sort(key=lambda item: (-item[0], str(item[1])))
    lines = [display_path(p, ctx.cwd) for _, p in found[:MAX_GLOB_RESULTS]]
    if len(found) > MAX_GLOB_RESULTS:
        lines.append(
            f"(showing the {MAX_GLOB_RESULTS} newest of {len(found)} matches; narrow the "
            "pattern or the path)"
        )
    meta["truncated"] = len(found) > MAX_GLOB_RESULTS
    return ToolResult("\n".join([*lines, *notes]), metadata=meta)
