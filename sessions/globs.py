"""Path patterns, one dialect each: the glob matcher and gitignore rules.

Globs (the ``glob`` tool, ``grep``'s ``include``, ``[sync.categories]``): ``**/`` is any number
of directories (or none), ``**`` elsewhere anything, ``*`` and ``?`` stay within one path
segment, ``[abc]`` / ``[!abc]`` / ``[a-z]`` are classes, ``{a,b}`` alternatives (nested too),
``\\x`` a literal ``x``. A glob matches a whole POSIX path relative to some base; ``GlobMatcher``
matches a pattern without ``/`` against the last segment instead (``*.py`` is ``**/*.py``).

Ignore rules are real gitignore semantics through ``pathspec``: every ``.gitignore`` from the
repository root down applies to its own subtree, a deeper file's rule beats a shallower one,
within a file the last matching rule wins (``!`` negation included), and ``.git/info/exclude``
applies below them all. A directory that is ignored is not entered, so, as in git, a file in
it cannot be re-included. The user's global excludes file is not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

GLOB_MAGIC = re.compile(r"[*?\[{]")


class GlobError(ValueError):
    """A glob that cannot be compiled; the message names the pattern."""


# ---------------------------------------------------------------------------- globs


def expand_braces(pattern: str) -> list[str]:
    """``a.{py,pyi}`` -> ``["a.py", "a.pyi"]``; nested braces are expanded too; a brace
    group without a comma (``{single}``) is literal."""
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
                options = _split_top(pattern[start + 1 : i])
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
        ch = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif ch == "[":
            # "]" right after "[" or "[!" is a member, not the end of the class.
            j = i + 1
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            end = pattern.find("]", j)
            if end == -1:
                out.append(re.escape("["))
                i += 1
                continue
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            if negate:
                body = body[1:]
            body = body.replace("\\", "\\\\").replace("[", "\\[").replace("^", "\\^")
            # A class never matches "/": a glob segment cannot span directories.
            out.append(("[^/" if negate else "[") + body + "]")
            i = end + 1
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


@lru_cache(maxsize=512)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """The glob as a compiled regex that must match a whole relative POSIX path."""
    alternatives = [_translate(p) for p in expand_braces(pattern)]
    try:
        return re.compile("(?:" + "|".join(alternatives) + r")\Z")
    except re.error as exc:
        raise GlobError(f"invalid glob pattern {pattern!r}: {exc}") from None


def glob_match(path: str, pattern: str) -> bool:
    """Whether the relative POSIX ``path`` matches ``pattern`` as a whole."""
    return glob_regex(pattern).match(path) is not None


@dataclass(frozen=True, slots=True)
class GlobMatcher:
    """A glob matched against a path relative to the base, or against its last segment when
    the pattern has no ``/`` (``by_name``)."""

    regex: re.Pattern[str]
    by_name: bool

    @classmethod
    def from_pattern(cls, pattern: str) -> GlobMatcher:
        pattern = pattern.strip()
        while pattern.startswith("./"):
            pattern = pattern[2:]
        return cls(glob_regex(pattern), "/" not in pattern)

    def matches(self, rel: str) -> bool:
        target = rel.rsplit("/", 1)[-1] if self.by_name else rel
        return self.regex.match(target) is not None


# ---------------------------------------------------------------------------- gitignore


@dataclass(frozen=True, slots=True)
class IgnoreFile:
    """The rules of one ignore file, matched against paths relative to ``directory``."""

    directory: str  # absolute POSIX path, no trailing slash
    spec: GitIgnoreSpec

    @classmethod
    def load(cls, path: Path, directory: Path) -> IgnoreFile | None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        # Imported on first use (~16 ms): `opencode run` builds the tool set at start.
        from pathspec import GitIgnoreSpec

        spec = GitIgnoreSpec.from_lines(text.splitlines())
        if not spec.patterns:
            return None
        return cls(directory.as_posix().rstrip("/"), spec)

    def check(self, path: str, is_dir: bool) -> bool | None:
        """True ignored, False re-included by a ``!`` rule, None no rule here matches."""
        prefix = self.directory + "/"
        if not path.startswith(prefix):
            return None
        rel = path[len(prefix) :] + ("/" if is_dir else "")
        include: bool | None = self.spec.check_file(rel).include
        return include


@dataclass(frozen=True, slots=True)
class IgnoreRules:
    """The ignore files that apply in one directory, shallowest first."""

    files: tuple[IgnoreFile, ...] = ()

    @classmethod
    def above(cls, directory: Path, stop: Path) -> IgnoreRules:
        """The rules that apply inside ``directory``: ``.git/info/exclude`` of the repository
        holding it, and every ``.gitignore`` from the repository root (or ``stop`` when no
        repository encloses it below ``stop``'s ancestors) down to ``directory`` itself."""
        top = _repo_top(directory) or stop
        if not directory.is_relative_to(top):
            top = directory
        rules = cls()
        exclude = IgnoreFile.load(top / ".git" / "info" / "exclude", top)
        if exclude is not None:
            rules = IgnoreRules((exclude,))
        current = top
        rules = rules.enter(current)
        for part in directory.relative_to(top).parts:
            current = current / part
            rules = rules.enter(current)
        return rules

    def enter(self, directory: Path) -> IgnoreRules:
        """These rules plus the ``.gitignore`` of ``directory``, if it has one."""
        own = IgnoreFile.load(directory / ".gitignore", directory)
        return IgnoreRules((*self.files, own)) if own is not None else self

    def ignored(self, path: Path | str, is_dir: bool) -> bool:
        text = path.as_posix() if isinstance(path, Path) else path
        for rules in reversed(self.files):  # the deepest file with an opinion decides
            verdict = rules.check(text, is_dir)
            if verdict is not None:
                return verdict
        return False


def _repo_top(directory: Path) -> Path | None:
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return None
