"""The search tools ``glob``, ``grep`` and ``list``: pure Python, no ripgrep needed.

All three walk the tree below their base path (``path`` argument, default the working
directory) without following symlinked directories, and skip:

- always: ``.git``, ``node_modules``, ``__pycache__``, ``.venv`` and tool caches (``SKIP_DIRS``);
- what ``.gitignore`` files ignore: the one at the ignore root (the working directory when the
  base path is inside it, else the base path itself), those in the directories between it and
  the base, and each ``.gitignore`` met while walking, applied to its own subtree. Supported:
  comments, ``!`` negation (last matching rule wins), a trailing ``/`` for directories only,
  anchoring by a leading or inner ``/``, ``*``, ``?``, ``[...]`` and ``**``. Not read:
  ``.git/info/exclude`` and the user's global excludes file.

``grep`` does not search ``.env*`` files met while walking (reading one asks first; a wide
search must not print secrets); naming the file as ``path`` searches it, behind that ask.
The base path itself is searched even when it is ignored, so ``path="build"`` still works.
``glob`` and ``grep`` patterns without a ``/`` match file names at any depth (``*.py`` is
``**/*.py``), like ripgrep's ``--glob``; ``{a,b}`` alternatives are expanded.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opencode.sessions.tools.base import PermissionSubject, ToolContext, ToolError, ToolResult
from opencode.sessions.tools.files import (
    BINARY_SNIFF_BYTES,
    display_path,
    is_env_file,
    is_inside,
    looks_binary,
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
MAX_GLOB_RESULTS = 200
MAX_GREP_MATCHES = 200
MAX_GREP_LINE_CHARS = 300
MAX_GREP_FILE_BYTES = 2 * 1024 * 1024
MAX_OUTPUT_CHARS = 50 * 1024
MAX_LIST_LINES = 400
MAX_LIST_PER_DIR = 100
_MAGIC = re.compile(r"[*?\[{]")


# ---------------------------------------------------------------------------- glob patterns


def expand_braces(pattern: str) -> list[str]:
    """``a.{py,pyi}`` -> ``["a.py", "a.pyi"]``; nested braces are expanded too."""
    depth = 0
    start = -1
    for i, ch in enumerate(pattern):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                inner = pattern[start + 1 : i]
                options = _split_top(inner)
                if len(options) < 2:
                    continue
                head, tail = pattern[:start], pattern[i + 1 :]
                out: list[str] = []
                for option in options:
                    out.extend(expand_braces(head + option + tail))
                return out
    return [pattern]


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += ch == "{"
        depth -= ch == "}"
        current.append(ch)
    parts.append("".join(current))
    return parts


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape("["))
                i += 1
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def glob_regex(pattern: str) -> re.Pattern[str]:
    alternatives = [_translate(p) for p in expand_braces(pattern)]
    try:
        return re.compile("(?:" + "|".join(alternatives) + r")\Z")
    except re.error as exc:
        raise ToolError(f"invalid glob pattern {pattern!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class NameMatcher:
    """A glob matched against a path relative to the base, or its name when it has no ``/``."""

    regex: re.Pattern[str]
    by_name: bool

    @classmethod
    def from_pattern(cls, pattern: str) -> NameMatcher:
        pattern = pattern.strip()
        while pattern.startswith("./"):
            pattern = pattern[2:]
        return cls(glob_regex(pattern), "/" not in pattern)

    def matches(self, rel: str) -> bool:
        target = rel.rsplit("/", 1)[-1] if self.by_name else rel
        return self.regex.match(target) is not None


# ---------------------------------------------------------------------------- .gitignore


@dataclass(frozen=True, slots=True)
class _Rule:
    base: str  # directory of the .gitignore, relative to the ignore root ("" for the root)
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool
    anchored: bool


def _load_gitignore(directory: Path, base: str) -> list[_Rule]:
    try:
        text = (directory / ".gitignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    rules: list[_Rule] = []
    for line in text.splitlines():
        line = line.rstrip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate:
            line = line[1:]
        if line.startswith("\\"):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        try:
            regex = re.compile(_translate(line) + r"\Z")
        except re.error:
            continue
        rules.append(_Rule(base, regex, negate, dir_only, anchored))
    return rules


def _ignored(rules: list[_Rule], rel: str, is_dir: bool) -> bool:
    ignored = False
    for rule in rules:
        if rule.dir_only and not is_dir:
            continue
        sub = rel
        if rule.base:
            if not rel.startswith(rule.base + "/"):
                continue
            sub = rel[len(rule.base) + 1 :]
        target = sub if rule.anchored else sub.rsplit("/", 1)[-1]
        if rule.regex.match(target):
            ignored = not rule.negate
    return ignored


class _Tree:
    """Walks below ``base`` honouring SKIP_DIRS and the .gitignore rules that apply there."""

    def __init__(self, base: Path, cwd: Path) -> None:
        self.base = base
        root = cwd.resolve() if is_inside(base, cwd) else base
        self.root = root
        rules: list[_Rule] = []
        current = root
        for part in base.relative_to(root).parts:
            rules += _load_gitignore(current, self._rel(current))
            current = current / part
        self.base_rules = rules

    def _rel(self, path: Path) -> str:
        rel = path.relative_to(self.root).as_posix()
        return "" if rel == "." else rel

    def rules_for(self, directory: Path, inherited: list[_Rule]) -> list[_Rule]:
        own = _load_gitignore(directory, self._rel(directory))
        return inherited + own if own else inherited

    def entries(
        self, directory: Path, rules: list[_Rule]
    ) -> tuple[list[os.DirEntry[str]], list[os.DirEntry[str]]]:
        """(subdirectories, files) of ``directory`` that are not skipped, sorted by name."""
        try:
            with os.scandir(directory) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError:
            return [], []
        dirs: list[os.DirEntry[str]] = []
        files: list[os.DirEntry[str]] = []
        prefix = self._rel(directory)
        for entry in items:
            rel = f"{prefix}/{entry.name}" if prefix else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = not is_dir and entry.is_file()
            except OSError:
                continue
            if is_dir:
                if entry.name in SKIP_DIRS or _ignored(rules, rel, True):
                    continue
                dirs.append(entry)
            elif is_file and not _ignored(rules, rel, False):
                files.append(entry)
        return dirs, files

    def files(self, cancel: asyncio.Event | None = None) -> Iterator[Path]:
        stack: list[tuple[Path, list[_Rule]]] = [(self.base, self.base_rules)]
        while stack:
            if cancel is not None and cancel.is_set():
                return
            directory, inherited = stack.pop()
            rules = self.rules_for(directory, inherited)
            dirs, files = self.entries(directory, rules)
            for entry in files:
                yield Path(entry.path)
            stack.extend((Path(d.path), rules) for d in reversed(dirs))


def _base_dir(args: dict[str, Any], cwd: Path, *, allow_file: bool = False) -> Path:
    raw = args.get("path") or "."
    if not isinstance(raw, str):
        raise ToolError("argument 'path' must be a string")
    base = resolve_path(raw, cwd)
    if not base.exists():
        raise ToolError(f"path not found: {display_path(base, cwd)}; use `list` to see what exists")
    if not allow_file and not base.is_dir():
        raise ToolError(f"{display_path(base, cwd)} is a file, not a directory")
    return base


def _dir_subject(args: dict[str, Any], cwd: Path) -> PermissionSubject:
    raw = args.get("path") or "."
    return path_subject(raw if isinstance(raw, str) else ".", cwd, reading=True)


# ---------------------------------------------------------------------------- glob


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
            base, _, _ = split_glob(str(args.get("pattern", "")), _base_dir(args, cwd))
        except ToolError:
            return _dir_subject(args, cwd)
        return path_subject(str(base), cwd, reading=True)

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        pattern = str(args.get("pattern", "")).strip()
        if not pattern:
            raise ToolError("argument 'pattern' must be a non-empty glob such as **/*.py")
        base, rest, anchored = split_glob(pattern, _base_dir(args, ctx.cwd))
        return await asyncio.to_thread(_glob, base, rest, anchored, pattern, ctx)


def split_glob(pattern: str, base: Path) -> tuple[Path, str, bool]:
    """Move the pattern's leading literal directories into the base: ``src/*.py`` under
    ``.`` walks ``src`` for ``*.py``; ``/etc/*.conf`` walks ``/etc``. Returns (directory to
    walk, the rest of the pattern, whether that rest is matched against the path below the
    directory rather than against file names)."""
    pattern = pattern.strip()
    while pattern.startswith("./"):
        pattern = pattern[2:]
    anchored = "/" in pattern
    parts = pattern.split("/")
    literal: list[str] = []
    for part in parts[:-1]:
        if _MAGIC.search(part):
            break
        literal.append(part)
    if pattern.startswith("/"):
        walk = Path("/" + "/".join(literal[1:]))
    else:
        walk = base.joinpath(*literal) if literal else base
    rest = "/".join(parts[len(literal) :])
    return walk.resolve(), rest, anchored


def _glob(base: Path, rest: str, anchored: bool, pattern: str, ctx: ToolContext) -> ToolResult:
    matcher = NameMatcher(glob_regex(rest), by_name=not anchored)
    found: list[tuple[float, Path]] = []
    if base.is_dir():
        for path in _Tree(base, ctx.cwd).files(ctx.cancel):
            if matcher.matches(path.relative_to(base).as_posix()):
                try:
                    found.append((path.stat().st_mtime, path))
                except OSError:
                    continue
    if not found:
        return ToolResult(
            f"No files match {pattern!r} under {display_path(base, ctx.cwd)}",
            metadata={"count": 0},
        )
    found.sort(key=lambda item: (-item[0], str(item[1])))
    lines = [display_path(p, ctx.cwd) for _, p in found[:MAX_GLOB_RESULTS]]
    if len(found) > MAX_GLOB_RESULTS:
        lines.append(
            f"(showing the {MAX_GLOB_RESULTS} newest of {len(found)} matches; narrow the "
            "pattern or the path)"
        )
    return ToolResult(
        "\n".join(lines),
        metadata={"count": len(found), "truncated": len(found) > MAX_GLOB_RESULTS},
    )


# ---------------------------------------------------------------------------- grep


class GrepTool:
    name = "grep"
    description = (
        "Search file contents with a Python regular expression; prints `path:line: text` "
        "for each matching line. Use `include` to limit the files by name glob "
        "(e.g. `*.py`, `*.{ts,tsx}`). Add `(?i)` for case-insensitive search. Skips binary "
        "files, files over 2 MB, .env files, .git, node_modules, .venv and .gitignore'd "
        f"files. At most {MAX_GREP_MATCHES} matches."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "Regular expression (Python `re`)."},
            "path": {
                "type": "string",
                "description": "File or directory to search (default: the working directory).",
            },
            "include": {
                "type": "string",
                "description": "Only search files whose name matches this glob.",
            },
        },
        "required": ["pattern"],
    }

    def permission_subject(self, args: dict[str, Any], cwd: Path) -> PermissionSubject:
        return _dir_subject(args, cwd)

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        pattern = args.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise ToolError("argument 'pattern' must be a non-empty regular expression")
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ToolError(
                f"invalid regular expression {pattern!r}: {exc}; escape special characters "
                "such as ( [ { . * + ? with a backslash to match them literally"
            ) from None
        include = args.get("include")
        matcher = None
        if isinstance(include, str) and include.strip():
            matcher = NameMatcher.from_pattern(include)
        base = _base_dir(args, ctx.cwd, allow_file=True)
        return await asyncio.to_thread(_grep, base, regex, matcher, ctx)


def _grep(
    base: Path, regex: re.Pattern[str], matcher: NameMatcher | None, ctx: ToolContext
) -> ToolResult:
    if base.is_file():
        candidates: Iterator[Path] = iter([base])
        rel_base = base.parent
    else:
        candidates = _Tree(base, ctx.cwd).files(ctx.cancel)
        rel_base = base
    # One search over the whole file rejects most files at C speed before splitting lines;
    # MULTILINE keeps ^/$ meaning line ends. \A, \Z and lookarounds can see the newline
    # around a line and change meaning, so patterns with them take the slow path.
    whole: re.Pattern[str] | None = None
    if not any(tok in regex.pattern for tok in ("\\A", "\\Z", "(?<", "(?=", "(?!")):
        whole = re.compile(regex.pattern, regex.flags | re.MULTILINE)
    lines: list[str] = []
    used = 0
    matches = 0
    files_with_matches = 0
    skipped_large = 0
    more = False
    for path in candidates:
        if matcher is not None and not matcher.matches(path.relative_to(rel_base).as_posix()):
            continue
        if path is not base and is_env_file(path):
            continue  # secrets: reading them asks first, so a wide search must not leak them
        try:
            if path.stat().st_size > MAX_GREP_FILE_BYTES:
                skipped_large += 1
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if looks_binary(data[:BINARY_SNIFF_BYTES]):
            continue
        text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
        if whole is not None and not whole.search(text):
            continue
        shown = display_path(path, ctx.cwd)
        hit = False
        file_lines = text.split("\n")
        if file_lines[-1] == "":
            file_lines.pop()  # the newline ending the last line starts no new line
        for number, line in enumerate(file_lines, 1):
            if not regex.search(line):
                continue
            if matches >= MAX_GREP_MATCHES or used > MAX_OUTPUT_CHARS:
                more = True
                break
            if len(line) > MAX_GREP_LINE_CHARS:
                line = line[:MAX_GREP_LINE_CHARS] + "…"
            entry = f"{shown}:{number}: {line}"
            lines.append(entry)
            used += len(entry) + 1
            matches += 1
            hit = True
        files_with_matches += hit
        if more or ctx.cancel.is_set():
            break
    meta: dict[str, Any] = {
        "matches": matches,
        "files": files_with_matches,
        "truncated": more,
        "skipped_large_files": skipped_large,
    }
    notes: list[str] = []
    if more:
        notes.append(
            f"(showing the first {matches} matches; there are more: narrow the pattern, the "
            "path or include)"
        )
    if skipped_large:
        notes.append(f"({_plural(skipped_large, 'file')} over 2 MB not searched)")
    if not lines:
        text = f"No matches for {regex.pattern!r} under {display_path(base, ctx.cwd)}"
        return ToolResult("\n".join([text, *notes]), metadata=meta)
    head = f"{_plural(matches, 'match')} in {_plural(files_with_matches, 'file')}"
    return ToolResult("\n".join([head, *lines, *notes]), metadata=meta)


def _plural(count: int, noun: str) -> str:
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun}{'es' if noun.endswith('ch') else 's'}"


# ---------------------------------------------------------------------------- list


class ListTool:
    name = "list"
    description = (
        "List a directory as a tree two levels deep (directories end with `/`). Skips .git, "
        "node_modules, .venv, __pycache__ and .gitignore'd entries. Use it to get oriented; "
        "use `glob` to find files by name deeper down."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "path": {
                "type": "string",
                "description": "Directory to list (default: the working directory).",
            },
        },
        "required": [],
    }

    def permission_subject(self, args: dict[str, Any], cwd: Path) -> PermissionSubject:
        return _dir_subject(args, cwd)

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        base = _base_dir(args, ctx.cwd)
        return await asyncio.to_thread(_list, base, ctx.cwd)


def _list(base: Path, cwd: Path) -> ToolResult:
    tree = _Tree(base, cwd)
    rules = tree.rules_for(base, tree.base_rules)
    shown = display_path(base, cwd)
    lines = [shown.rstrip("/") + "/"]
    cut = False
    entries = 0

    def add_level(directory: Path, rules: list[Any], depth: int) -> None:
        nonlocal cut, entries
        dirs, files = tree.entries(directory, rules)
        items = [(d, True) for d in dirs] + [(f, False) for f in files]
        for index, (entry, is_dir) in enumerate(items):
            if len(lines) >= MAX_LIST_LINES:
                cut = True
                return
            if index >= MAX_LIST_PER_DIR:
                lines.append("  " * depth + f"… and {len(items) - index} more")
                return
            lines.append("  " * depth + entry.name + ("/" if is_dir else ""))
            entries += 1
            if is_dir and depth == 1:
                sub = Path(entry.path)
                add_level(sub, tree.rules_for(sub, rules), depth + 1)

    add_level(base, rules, 1)
    if len(lines) == 1:
        lines.append("  (empty)")
    if cut:
        lines.append(f"(listing cut at {MAX_LIST_LINES} lines; list a subdirectory for more)")
    return ToolResult("\n".join(lines), metadata={"entries": entries, "truncated": cut})
