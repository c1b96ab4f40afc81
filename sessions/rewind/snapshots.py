"""Workspace snapshots around a bash call, so rewind can undo what bash changed.

``write`` and ``edit`` record their own before-images; a shell command can touch anything, so
before it runs the workspace's non-ignored files are snapshotted, and after it the files that
changed, appeared or disappeared get before-images in ``file_change`` like any tool's.

Cost: one stat walk per call when nothing changed. The snapshot of the previous call stays in
memory (per session), keyed by ``(size, mtime_ns, inode)``; only files whose key moved are
read again, and a file's bytes are compared (then hashed, for the after-image) only when its
key moved. Directory listings are cached by the directory's own mtime, so an unchanged tree
costs one ``stat`` per directory and per file. Entries modified within the last
``RACY_NS`` of a scan are not trusted next time ("racy git"): a change within one timestamp
tick of the scan would otherwise keep the same key.

Bounded by ``[rewind]``: ``snapshot_max_files`` files are watched (directories beyond that are
not entered), their bytes are kept up to ``snapshot_max_bytes`` in all, and a file larger than
``snapshot_max_file_bytes`` is watched but not copied. Whatever is not covered is listed in the
snapshot's report (the tool result's ``metadata["snapshot"]``), and rewind repeats it.

The workspace is the session's working directory: gitignore semantics (``globs.IgnoreRules``,
which work outside git too) and the walk's ``SKIP_DIRS`` decide what is in it; symlinks are
not followed and not covered. Bash changes outside the workspace are not seen. ``.env``
files are watched but never copied (secrets stay out of the database): a change to one is
reported as not covered.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opencode.sessions.globs import IgnoreRules

# A key: (size, mtime_ns, inode).
Key = tuple[int, int, int]
RACY_NS = 50_000_000
REPORT_LIMIT = 20
CREATED_DIRS_LIMIT = 1000
ABSENT = ""  # the after-hash of a file the step left absent

DEFAULT_MAX_FILES = 20_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024

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


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class SnapshotBudget:
    """``[rewind]`` settings: how much of the workspace a bash snapshot may watch and copy."""

    enabled: bool = True
    max_files: int = DEFAULT_MAX_FILES
    max_bytes: int = DEFAULT_MAX_BYTES
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    # Directories never snapshotted even inside the workspace (opencode's own data dir: its
    # database changes with every event and is no work of the session's).
    exclude: tuple[str, ...] = ()

    @classmethod
    def from_section(
        cls, section: dict[str, Any], *, exclude: tuple[Path, ...] = ()
    ) -> SnapshotBudget:
        """Read ``[rewind]``; a bad value raises ConfigError naming the key and what fits."""
        from opencode.sessions.config import ConfigError

        enabled = section.get("bash_snapshots", True)
        if not isinstance(enabled, bool):
            raise ConfigError(f"[rewind] bash_snapshots must be true or false, not {enabled!r}")

        def positive(key: str, default: int) -> int:
            value = section.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(
                    f"[rewind] {key} must be a positive integer, not {value!r}; "
                    f"the default is {default}"
                )
            return value

        return cls(
            enabled,
            positive("snapshot_max_files", DEFAULT_MAX_FILES),
            positive("snapshot_max_bytes", DEFAULT_MAX_BYTES),
            positive("snapshot_max_file_bytes", DEFAULT_MAX_FILE_BYTES),
            tuple(str(p) for p in exclude),
        )


@dataclass(slots=True)
class _Dir:
    mtime_ns: int
    ino: int
    files: list[str]
    subdirs: list[str]
    rules: IgnoreRules


@dataclass(slots=True)
class Walk:
    """One stat pass: every watched file's key, and what the file budget left out."""

    keys: dict[str, Key] = field(default_factory=dict)
    # Every directory listed (empty ones included): a call's new ones are the dirs it made.
    dirs: set[str] = field(default_factory=set)
    unwalked_dirs: list[str] = field(default_factory=list)
    unwatched_files: int = 0
    gitignores: dict[str, Key] = field(default_factory=dict)


class Walker:
    """Stat walks of one workspace, reusing directory listings whose mtime did not move."""

    def __init__(self, root: Path, max_files: int, exclude: tuple[str, ...] = ()) -> None:
        self.root = root
        self.max_files = max_files
        self.exclude = frozenset(exclude)
        self._dirs: dict[str, _Dir] = {}
        self._gitignores: dict[str, Key] = {}

    def walk(self) -> Walk:
        result = self._walk()
        if result.gitignores != self._gitignores:
            # An ignore file changed: cached listings were filtered by the old rules.
            self._gitignores = result.gitignores
            if self._dirs:
                self._dirs.clear()
                result = self._walk()
                self._gitignores = result.gitignores
        return result

    def _walk(self) -> Walk:
        out = Walk()
        root = str(self.root)
        racy_after = time.time_ns() - RACY_NS
        stack: list[tuple[str, IgnoreRules | None]] = [(root, None)]
        while stack:
            directory, parent_rules = stack.pop()
            if len(out.keys) >= self.max_files:
                out.unwalked_dirs.append(directory)
                continue
            listing = self._listing(directory, parent_rules, racy_after)
            if listing is None:
                continue
            out.dirs.add(directory)
            for name in listing.files:
                path = f"{directory}/{name}"
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                if name == ".gitignore":
                    out.gitignores[path] = (st.st_size, st.st_mtime_ns, st.st_ino)
                if len(out.keys) >= self.max_files:
                    out.unwatched_files += 1
                    continue
                out.keys[path] = (st.st_size, st.st_mtime_ns, st.st_ino)
            for name in reversed(listing.subdirs):
                stack.append((f"{directory}/{name}", listing.rules))
        return out

    def _listing(
        self, directory: str, parent_rules: IgnoreRules | None, racy_after: int
    ) -> _Dir | None:
        try:
            st = os.lstat(directory)
        except OSError:
            self._dirs.pop(directory, None)
            return None
        if not stat.S_ISDIR(st.st_mode):
            return None
        cached = self._dirs.get(directory)
        if cached is not None and cached.mtime_ns == st.st_mtime_ns and cached.ino == st.st_ino:
            return cached
        path = Path(directory)
        rules = IgnoreRules.above(path, path) if parent_rules is None else parent_rules.enter(path)
        files: list[str] = []
        subdirs: list[str] = []
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            if entry.name in SKIP_DIRS or entry.path in self.exclude:
                                continue
                            if rules.ignored(entry.path, True):
                                continue
                            subdirs.append(entry.name)
                        elif entry.is_file(follow_symlinks=False):
                            if not rules.ignored(entry.path, False):
                                files.append(entry.name)
                    except OSError:
                        continue
        except OSError:
            return None
        subdirs.sort()
        listing = _Dir(st.st_mtime_ns, st.st_ino, files, subdirs, rules)
        if st.st_mtime_ns < racy_after:
            self._dirs[directory] = listing
        else:
            self._dirs.pop(directory, None)
        return listing


@dataclass(slots=True)
class Change:
    """A file a bash call changed: ``before`` None when it did not exist; ``after_hash``
    ``ABSENT`` when the call deleted it."""

    path: str
    before: bytes | None
    after_hash: str


@dataclass(slots=True)
class Report:
    """What one call's snapshot covered, for the tool result's metadata and for rewind."""

    watched: int = 0
    changed: int = 0
    # Files the call changed that have no before-image: too large, over the byte budget.
    uncovered_changes: list[str] = field(default_factory=list)
    # What the budget kept out of the snapshot altogether.
    not_covered: list[str] = field(default_factory=list)
    not_covered_count: int = 0
    # Directories that appeared during the call: rewind may remove these (and only these)
    # once the files in them are deleted again. Capped: a dir left out is merely kept.
    created_dirs: list[str] = field(default_factory=list)
    ms: float = 0.0

    def to_metadata(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "watched": self.watched,
            "changed": self.changed,
            "ms": round(self.ms, 1),
        }
        if self.uncovered_changes:
            data["uncovered_changes"] = self.uncovered_changes[:REPORT_LIMIT]
            data["uncovered_changes_count"] = len(self.uncovered_changes)
        if self.not_covered_count:
            data["not_covered"] = self.not_covered[:REPORT_LIMIT]
            data["not_covered_count"] = self.not_covered_count
        if self.created_dirs:
            data["created_dirs"] = self.created_dirs[:CREATED_DIRS_LIMIT]
        return data


class WorkspaceSnapshot:
    """The in-memory snapshot of one session's workspace, carried from call to call."""

    def __init__(self, root: Path, budget: SnapshotBudget) -> None:
        self.root = root
        self.budget = budget
        self.walker = Walker(root, budget.max_files, budget.exclude)
        self.keys: dict[str, Key] = {}
        self.content: dict[str, bytes] = {}
        self.racy: set[str] = set()
        self.kept_bytes = 0
        self._last_walk = Walk()
        # Watched but not copied: path -> why (too large, over the byte budget).
        self.uncopied: dict[str, str] = {}

    def before_call(self) -> None:
        """Bring the snapshot up to date (blocking: run it in a thread)."""
        walk = self.walker.walk()
        self._last_walk = walk
        self._absorb(walk)

    def after_call(self) -> tuple[list[Change], Report]:
        """The changes since ``before_call``, and the snapshot moved past them."""
        started = time.perf_counter()
        # Copies: ``_absorb`` below replaces what moved, and the diff needs the old state.
        old_keys, old_content, old_uncopied = self.keys, dict(self.content), dict(self.uncopied)
        old_racy = set(self.racy)
        old_dirs = self._last_walk.dirs
        walk = self.walker.walk()
        self._last_walk = walk
        changes: list[Change] = []
        uncovered: list[str] = []
        new_keys = walk.keys
        # The common case, nothing changed, is one C-level dict comparison.
        moved = [] if new_keys == old_keys else sorted(old_keys.keys() | new_keys.keys())
        for path in sorted(set(moved) | old_racy):
            old, new = old_keys.get(path), new_keys.get(path)
            if old == new and path not in old_racy:
                continue
            if old is not None and path in old_uncopied:
                if new is None or new != old:
                    uncovered.append(f"{self._shown(path)} ({old_uncopied[path]})")
                continue
            before = old_content.get(path) if old is not None else None
            if new is None:
                if old is not None:
                    changes.append(Change(path, before, ABSENT))
                continue
            after_hash = hash_file(path)
            if after_hash is None:
                continue  # vanished or unreadable while we looked: nothing to compare
            if before is not None and content_hash(before) == after_hash:
                continue  # touched, or racy, but the same bytes
            changes.append(Change(path, before, after_hash))
        self._absorb(walk)
        report = self.report()
        report.changed = len(changes)
        report.uncovered_changes = uncovered
        if old_dirs:  # no walk before this one: nothing is known to be new
            report.created_dirs = sorted(walk.dirs - old_dirs)
        report.ms = (time.perf_counter() - started) * 1000
        return changes, report

    def report(self) -> Report:
        walk = self._last_walk
        report = Report(watched=len(self.keys))
        not_covered = [f"{self._shown(d)}/ (over snapshot_max_files)" for d in walk.unwalked_dirs]
        not_covered += [f"{self._shown(p)} ({why})" for p, why in sorted(self.uncopied.items())]
        report.not_covered = not_covered
        report.not_covered_count = (
            len(walk.unwalked_dirs) + walk.unwatched_files + len(self.uncopied)
        )
        if walk.unwatched_files:
            more = walk.unwatched_files
            report.not_covered.append(f"{more} more files (over snapshot_max_files)")
        return report

    def _absorb(self, walk: Walk) -> None:
        """Make ``walk`` the snapshot: read the files whose key moved, within the budget."""
        if walk.keys == self.keys and not self.racy:
            return
        now = time.time_ns()
        content, uncopied = self.content, self.uncopied
        for path in [p for p in content if p not in walk.keys]:
            self.kept_bytes -= len(content.pop(path))
        for path in [p for p in uncopied if p not in walk.keys]:
            del uncopied[path]
        racy: set[str] = set()
        for path, key in walk.keys.items():
            if self.keys.get(path) == key and path not in self.racy:
                continue
            if path in content:
                self.kept_bytes -= len(content.pop(path))
            uncopied.pop(path, None)
            size = key[0]
            if _is_env_file(path):
                uncopied[path] = "a .env file: secrets are never copied into the database"
                continue
            if size > self.budget.max_file_bytes:
                uncopied[path] = f"larger than snapshot_max_file_bytes={self.budget.max_file_bytes}"
                continue
            if self.kept_bytes + size > self.budget.max_bytes:
                uncopied[path] = f"over snapshot_max_bytes={self.budget.max_bytes}"
                continue
            data = _read(path)
            if data is None:
                uncopied[path] = "unreadable"
                continue
            content[path] = data
            self.kept_bytes += len(data)
            if key[1] > now - RACY_NS:
                racy.add(path)
        self.keys = dict(walk.keys)
        self.racy = racy

    def _shown(self, path: str) -> str:
        root = str(self.root)
        return path[len(root) + 1 :] if path.startswith(root + "/") else path


def _is_env_file(path: str) -> bool:
    from opencode.sessions.tools.paths import is_env_file

    return is_env_file(Path(path))


def _open(path: str) -> int | None:
    """A descriptor on a regular file (links not followed, FIFOs never waited on)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _read(path: str) -> bytes | None:
    fd = _open(path)
    if fd is None:
        return None
    try:
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    except OSError:
        return None
    finally:
        os.close(fd)


def hash_file(path: str | Path) -> str | None:
    """sha256 of a regular file read in chunks (any size); None if absent or not regular."""
    fd = _open(str(path))
    if fd is None:
        return None
    digest = hashlib.sha256()
    try:
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return digest.hexdigest()
