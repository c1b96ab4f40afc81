"""The source project: its git state, what changed since a revision, and its package metadata.

Change detection runs real ``git diff --name-status REV HEAD`` and sorts each path into the
first category whose glob matches (``*`` stays inside one folder, ``**`` spans folders).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from opencode.commands.registry import CommandError
from opencode.commands.sync.settings import PRIORITIES, SyncSettings
from opencode.sessions import git as shared_git

# ``git diff --name-status`` letters -> words shown in checklists.
_STATUS_WORDS = {
    "A": "added",
    "M": "modified",
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
    "T": "type changed",
}


async def git(source: Path, *args: str) -> str:
    """stdout of ``git -C source ARGS`` (the shared async runner, its time limit and its error
    messages); any git failure becomes a CommandError."""
    try:
        return await shared_git.git(source, *args)
    except shared_git.GitError as exc:
        raise CommandError(str(exc)) from exc


async def check_source(source: Path) -> Path:
    if not source.is_dir():
        raise CommandError(
            f"source project {source} does not exist; set [sync] source in opencode.toml "
            "or run from the source checkout"
        )
    try:
        top = (await shared_git.git(source, "rev-parse", "--show-toplevel")).strip()
    except shared_git.GitTimeout as exc:
        raise CommandError(str(exc)) from exc
    except shared_git.GitError as exc:
        raise CommandError(
            f"source project {source} is not a git repository ({exc}); "
            "set [sync] source = PATH to a git checkout"
        ) from exc
    return Path(top)


async def head(source: Path) -> str:
    try:
        return (await shared_git.git(source, "rev-parse", "HEAD")).strip()
    except shared_git.GitTimeout as exc:
        raise CommandError(str(exc)) from exc
    except shared_git.GitError as exc:
        # A fresh `git init`: HEAD names a branch with no commit yet (git's own message is
        # "ambiguous argument 'HEAD': unknown revision", which says none of that).
        raise CommandError(
            f"source project {source} has no commits yet; commit something first "
            "(git add -A && git commit), then sync"
        ) from exc


async def describe(source: Path) -> str:
    """A version label for HEAD: the nearest tag (v1.2.3-4-gabc) or the short sha."""
    return (await git(source, "describe", "--tags", "--always", "HEAD")).strip()


async def resolve_rev(source: Path, rev: str) -> str:
    if rev.startswith("-"):
        raise CommandError(f"bad revision {rev!r}: a revision cannot start with '-'")
    try:
        return (await git(source, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")).strip()
    except CommandError as exc:
        raise CommandError(
            f"unknown revision {rev!r} in {source}; give a commit, tag or branch "
            "(see `git log --oneline`)"
        ) from exc


async def is_ancestor(source: Path, older: str, newer: str) -> bool:
    try:
        proc = await shared_git.run_git(
            source, "merge-base", "--is-ancestor", older, newer, check=False
        )
    except shared_git.GitError as exc:
        raise CommandError(str(exc)) from exc
    return proc.ok


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A category's path glob, translated as the glob tool does: ``**/`` is any folders (or
    none), ``*`` and ``?`` stay in one folder, ``{a,b}`` and ``[...]`` as usual."""
    from opencode.sessions.globs import GlobError
    from opencode.sessions.globs import glob_regex as translate

    try:
        return translate(pattern)
    except GlobError as exc:
        raise CommandError(f"[sync.categories]: {exc}; fix the pattern in opencode.toml") from None


def matches(path: str, pattern: str) -> bool:
    return glob_regex(pattern).match(path) is not None


@dataclass(slots=True)
class ChangedFile:
    path: str
    status: str  # added | modified | deleted | renamed | ...

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "status": self.status}


@dataclass(slots=True)
class ChangeRecord:
    category: str
    priority: str
    files: list[ChangedFile] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "priority": self.priority,
            "files": [f.to_dict() for f in self.files],
        }


async def changed_files(source: Path, since: str, until: str = "HEAD") -> list[ChangedFile]:
    out = await git(source, "diff", "--name-status", "--no-renames", "-z", since, until)
    parts = out.split("\0")
    files = []
    i = 0
    while i + 1 < len(parts):
        letter, path = parts[i], parts[i + 1]
        files.append(ChangedFile(path, _STATUS_WORDS.get(letter[:1], letter)))
        i += 2
    return files


async def detect_changes(settings: SyncSettings, since: str) -> list[ChangeRecord]:
    """Changed files grouped by category, highest priority first; unmatched files -> other."""
    records: dict[str, ChangeRecord] = {}
    for changed in await changed_files(settings.source, since):
        for category in settings.categories:
            if any(matches(changed.path, p) for p in category.patterns):
                record = records.setdefault(
                    category.name, ChangeRecord(category.name, category.priority)
                )
                break
        else:
            record = records.setdefault("other", ChangeRecord("other", "low"))
        record.files.append(changed)
    order = {name: i for i, name in enumerate(c.name for c in settings.categories)}
    return sorted(
        records.values(),
        key=lambda r: (PRIORITIES.index(r.priority), order.get(r.category, len(order))),
    )


@dataclass(frozen=True, slots=True)
class SourcePackage:
    name: str | None
    scripts: tuple[str, ...]


def package_info(source: Path) -> SourcePackage:
    """The distribution name and console scripts from the source's pyproject.toml."""
    path = source / "pyproject.toml"
    if not path.is_file():
        return SourcePackage(None, ())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CommandError(f"cannot read {path}: {exc}; fix the source's pyproject.toml") from exc
    project = data.get("project", {})
    name = project.get("name") if isinstance(project.get("name"), str) else None
    scripts = project.get("scripts", {})
    return SourcePackage(name, tuple(scripts) if isinstance(scripts, dict) else ())


@dataclass(frozen=True, slots=True)
class DirtyState:
    """Uncommitted changes in the source: ``git status --porcelain`` lines and a hash of them
    (the diff against HEAD plus every untracked file's bytes), so two different dirty trees
    never share a version label."""

    lines: list[str]
    digest: str

    def label(self, head_sha: str) -> str:
        return f"{head_sha[:12]}-dirty+{self.digest}"


async def dirty_state(source: Path) -> DirtyState | None:
    """None for a clean tree (ignored files do not count: they are never installed)."""
    porcelain = await git(source, "status", "--porcelain", "--untracked-files=all")
    lines = [line for line in porcelain.splitlines() if line.strip()]
    if not lines:
        return None
    digest = hashlib.sha256()
    digest.update((await git(source, "diff", "--binary", "HEAD")).encode("utf-8", "replace"))
    untracked = await git(source, "ls-files", "--others", "--exclude-standard", "-z")
    for rel in sorted(p for p in untracked.split("\0") if p):
        digest.update(b"\0untracked\0" + rel.encode("utf-8", "replace") + b"\0")
        path = source / rel
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return DirtyState(lines, digest.hexdigest()[:12])


def dirty_refusal(state: DirtyState, source: Path) -> str:
    shown = "\n  ".join(state.lines[:10]) + (
        f"\n  … and {len(state.lines) - 10} more" if len(state.lines) > 10 else ""
    )
    return (
        f"the source {source} has uncommitted changes, which would be installed under the "
        f"last commit's version:\n  {shown}\n"
        "commit them (`git add -A && git commit`) or stash them (`git stash -u`), or pass "
        "--allow-dirty to sync them anyway (the target then records the version "
        "<sha>-dirty+<hash of the diff> and shows as behind HEAD)"
    )


async def install_files(source: Path) -> list[str]:
    """What a build of the source sees: tracked and untracked files, ignored ones left out
    (build output, caches, virtualenvs)."""
    out = await git(source, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    return sorted({p for p in out.split("\0") if p})
