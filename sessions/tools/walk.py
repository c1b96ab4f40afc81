"""The directory walk shared by ``glob``, ``grep`` and ``list``, and their ``path`` argument.

A walk starts at its base path (the ``path`` argument, default the working directory; the base
itself is walked even when ignored, so ``path="build"`` works) and skips:

- always: ``.git``, ``node_modules``, ``__pycache__``, ``.venv`` and tool caches (``SKIP_DIRS``);
- what gitignore rules ignore (``opencode.sessions.globs.IgnoreRules``: nested ``.gitignore``
  files, negation, anchoring, ``.git/info/exclude``);
- anything that is not a regular file or directory (FIFOs, sockets, devices);
- symlinked directories (never followed), and symlinked files whose target lies outside the
  walk's boundary: the working directory, or the base when the base is outside it.

A symlinked file inside the boundary is yielded under its own name with its resolved target,
so callers judge the target (``grep`` does not open a link to ``.env``).
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opencode.sessions.globs import IgnoreRules
from opencode.sessions.tools.base import PermissionSubject, ToolError
from opencode.sessions.tools.paths import (
    display_path,
    is_inside,
    not_regular,
    path_subject,
    resolve_path,
)

SKIP_DIRS = frozenset(
    {
        ".git",
        "node_modules",
        "__pycache__",
        ".venv",
        ".hg",
        ".svn",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
    }
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One directory entry the walk keeps: ``path`` as found, ``target`` with links resolved."""

    name: str
    path: Path
    target: Path
    is_dir: bool


class Tree:
    """Walks below ``base`` honouring SKIP_DIRS, ignore rules and the symlink boundary."""

    def __init__(self, base: Path, cwd: Path) -> None:
        self.base = base
        root = cwd.resolve()
        self.boundary = root if is_inside(base, cwd) else base
        rules = IgnoreRules.above(base, self.boundary)
        if rules.ignored(base, True):
            # The base was asked for by name: walk it by its own rules only, since the ones
            # above would ignore everything in it.
            rules = IgnoreRules().enter(base)
        self.base_rules = rules
        self.links_outside = 0

    def rules_for(self, directory: Path, inherited: IgnoreRules) -> IgnoreRules:
        return inherited.enter(directory)

    def entries(self, directory: Path, rules: IgnoreRules) -> tuple[list[Entry], list[Entry]]:
        """(subdirectories, files) of ``directory`` that are not skipped, sorted by name."""
        try:
            with os.scandir(directory) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError:
            return [], []
        dirs: list[Entry] = []
        files: list[Entry] = []
        for item in items:
            path = Path(item.path)
            try:
                if item.is_symlink():
                    target = Path(os.path.realpath(path))
                    if not target.is_relative_to(self.boundary):
                        self.links_outside += 1
                        continue
                    mode = os.stat(target).st_mode
                    if not stat.S_ISREG(mode):
                        continue  # symlinked directories are never followed
                else:
                    target = path
                    mode = item.stat(follow_symlinks=False).st_mode
            except OSError:
                continue  # dangling link, or gone since scandir
            if stat.S_ISDIR(mode):
                if item.name in SKIP_DIRS or rules.ignored(path, True):
                    continue
                dirs.append(Entry(item.name, path, target, True))
            elif stat.S_ISREG(mode) and not rules.ignored(path, False):
                files.append(Entry(item.name, path, target, False))
        return dirs, files

    def files(self, cancel: asyncio.Event | None = None) -> Iterator[Entry]:
        stack: list[tuple[Path, IgnoreRules]] = [(self.base, self.base_rules)]
        first = True
        while stack:
            if cancel is not None and cancel.is_set():
                return
            directory, inherited = stack.pop()
            # IgnoreRules.above already read the base's own .gitignore.
            rules = inherited if first else self.rules_for(directory, inherited)
            first = False
            dirs, files = self.entries(directory, rules)
            yield from files
            stack.extend((d.path, rules) for d in reversed(dirs))


def base_dir(args: dict[str, Any], cwd: Path, *, allow_file: bool = False) -> Path:
    """The resolved ``path`` argument; ToolError when missing or of the wrong kind."""
    raw = args.get("path") or "."
    if not isinstance(raw, str):
        raise ToolError("argument 'path' must be a string")
    base = resolve_path(raw, cwd)
    shown = display_path(base, cwd)
    try:
        mode = os.stat(base).st_mode
    except OSError:
        raise ToolError(f"path not found: {shown}; use `list` to see what exists") from None
    if stat.S_ISDIR(mode):
        return base
    if not allow_file:
        raise ToolError(f"{shown} is a file, not a directory")
    if not stat.S_ISREG(mode):
        raise not_regular(shown, mode)
    return base


def dir_subject(args: dict[str, Any], cwd: Path) -> PermissionSubject:
    raw = args.get("path") or "."
    return path_subject(raw if isinstance(raw, str) else ".", cwd)


def plural(count: int, noun: str) -> str:
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun}{'es' if noun.endswith('ch') else 's'}"
