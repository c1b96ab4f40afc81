"""Evidence for plan-versus-reality sync, collected from a git repository.

Everything here reads the repository: its root and HEAD, the commits reachable from HEAD (with
the files each changed), the test files it holds, and which of those name a backlog key. Git
runs through the shared async runner (``opencode.sessions.git``); its failures become
``RealityError`` with the runner's message (which names the command and the repository).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opencode.sessions import git as shared_git

_TEST_PATH = re.compile(
    r"(^|/)(tests?|spec|__tests__)/|(^|/)test_[^/]*$|_test\.[^/]+$|\.test\.[^/]+$|_spec\.[^/]+$"
)
_MAX_TEST_BYTES = 512 * 1024
# A fixture or snapshot that mentions a key is data, not a test of the task.
_CODE_SUFFIXES = frozenset(
    ".py .rs .go .js .jsx .ts .tsx .mjs .java .kt .rb .php .c .cc .cpp .h .hpp .cs .swift "
    ".scala .sh .bash .ex .exs .clj .lua .dart .zig .nim .jl .r .pl .hs .ml".split()
)
_DATA_DIRS = re.compile(r"(^|/)(fixtures?|snapshots?|__snapshots__|testdata|data)/")


_BACK_MERGE = re.compile(
    r"Merge (?:remote-tracking )?branch '(?:main|master|develop|trunk|origin/\S+)'"
    r"(?: of \S+)? into "
)


class RealityError(Exception):
    """The repository cannot be inspected (not a git repo, bad revision, git missing, a hang)."""


# ``git log`` over a long history may legitimately take longer than other git calls.
LOG_LIMIT_S = 120.0


async def _run(repo: Path, *args: str, check: bool = True) -> shared_git.GitResult:
    try:
        return await shared_git.run_git(repo, *args, check=check)
    except shared_git.GitError as exc:
        raise RealityError(str(exc)) from exc


async def _git(repo: Path, *args: str, limit_s: float | None = None) -> str:
    try:
        return await shared_git.git(repo, *args, limit_s=limit_s)
    except shared_git.GitError as exc:
        raise RealityError(str(exc)) from exc


def key_pattern(key: str) -> re.Pattern[str]:
    """``Task-013`` as written in commit messages and tests (any case, not Task-0130)."""
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(key)}(?!\d)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Commit:
    hash: str
    time: int
    subject: str
    body: str
    files: tuple[str, ...]
    # The files this commit created (``git log --name-status`` "A"), a subset of ``files``.
    added: tuple[str, ...] = ()

    @property
    def short(self) -> str:
        return self.hash[:10]

    @property
    def date(self) -> str:
        return time.strftime("%Y-%m-%d", time.gmtime(self.time))

    def to_dict(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "date": self.date,
            "time": self.time,
            "subject": self.subject,
            "files": list(self.files),
            "added": list(self.added),
        }


@dataclass(frozen=True, slots=True)
class RepoEvidence:
    root: Path
    head: str
    commits: list[Commit]
    test_files: list[str]


async def collect(path: Path, since: str | None = None) -> RepoEvidence:
    """Everything the classification needs from the repository at ``path``."""
    root = await repo_root(path)
    return RepoEvidence(
        root=root,
        head=await head_commit(root),
        commits=await history(root, since),
        test_files=await list_test_files(root),
    )


async def repo_root(path: Path) -> Path:
    if not path.is_dir():
        raise RealityError(f"repository {path} does not exist; pass --repo PATH to a git checkout")
    try:
        return Path((await shared_git.git(path, "rev-parse", "--show-toplevel")).strip())
    except shared_git.NotARepository as exc:
        raise RealityError(
            f"{path} is not inside a git repository; run the sync in your checkout "
            "or pass --repo PATH"
        ) from exc
    except shared_git.GitError as exc:
        raise RealityError(str(exc)) from exc


async def head_commit(repo: Path) -> str:
    result = await _run(repo, "rev-parse", "--verify", "-q", "HEAD", check=False)
    return result.stdout.strip() if result.ok else ""  # "": a repository without commits yet


async def history(repo: Path, since: str | None = None) -> list[Commit]:
    """Commits reachable from HEAD (only those after ``since`` when given), newest first."""
    if not await head_commit(repo):
        return []
    if since:
        if since.startswith("-"):
            raise RealityError(f"--since {since!r}: a revision cannot start with '-'")
        found = await _run(repo, "rev-parse", "--verify", "-q", f"{since}^{{commit}}", check=False)
        if not found.ok:
            raise RealityError(
                f"--since {since!r} is not a commit in {repo}; give a hash, tag or branch "
                "(see `git log --oneline`)"
            )
    out = await _git(
        repo,
        "-c",
        "core.quotepath=off",
        "log",
        "--no-color",
        "--no-renames",
        # A merged pull request's files show on its merge commit (the one naming "#123").
        "--diff-merges=first-parent",
        "--format=%x1e%H%x1f%ct%x1f%s%x1f%b%x1f",
        "--name-status",
        f"{since}..HEAD" if since else "HEAD",
        limit_s=LOG_LIMIT_S,
    )
    commits = []
    for record in out.split("\x1e"):
        if not record.strip():
            continue
        parts = record.split("\x1f")
        if len(parts) < 5:
            continue
        files: list[str] = []
        added: list[str] = []
        # A merge of the main line into a branch brings everything main did: not this work.
        back_merge = _BACK_MERGE.match(parts[2].strip()) is not None
        for line in [] if back_merge else parts[4].splitlines():
            status, _, name = line.strip().partition("\t")
            if not name:
                continue
            files.append(name)
            if status == "A":
                added.append(name)
        commits.append(
            Commit(
                parts[0].strip(),
                int(parts[1]),
                parts[2].strip(),
                parts[3].strip(),
                tuple(files),
                tuple(added),
            )
        )
    return commits


async def list_test_files(repo: Path) -> list[str]:
    """Tracked and untracked (not ignored) test sources: code files under a tests folder or
    named like a test; fixtures and snapshots are data, not tests."""
    out = await _git(
        repo, "-c", "core.quotepath=off", "ls-files", "--cached", "--others", "--exclude-standard"
    )
    return [p for p in out.splitlines() if is_test_path(p)]


def is_test_path(path: str) -> bool:
    """A code file under a tests folder or named like a test (not a fixture or snapshot)."""
    return (
        _TEST_PATH.search(path) is not None
        and Path(path).suffix.lower() in _CODE_SUFFIXES
        and not _DATA_DIRS.search(path)
    )


def tests_for(key: str, repo: Path, test_files: list[str], cache: dict[str, str]) -> list[str]:
    """Test files named after ``key`` (task_31 for Task-031) or mentioning it; reads files, so
    callers run it off the event loop."""
    prefix, _, number = key.partition("-")
    # ``#123`` keys: no file is named after an issue number alone; only the content counts.
    name_re = (
        re.compile(rf"{re.escape(prefix.lower())}[-_ ]?0*{int(number)}(?!\d)")
        if number.isdigit()
        else None
    )
    content_re = key_pattern(key)
    found = []
    for path in test_files:
        if name_re is not None and name_re.search(Path(path).name.lower()):
            found.append(path)
            continue
        if path not in cache:
            full = repo / path
            try:
                cache[path] = (
                    full.read_text(encoding="utf-8", errors="replace")
                    if full.is_file() and full.stat().st_size <= _MAX_TEST_BYTES
                    else ""
                )
            except OSError:
                cache[path] = ""
        if content_re.search(cache[path]):
            found.append(path)
    return found
