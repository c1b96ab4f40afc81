"""Project files a sandboxed command must not create or change, checked and undone after it.

The sandbox keeps existing protected paths read-only with bind mounts, but a bind needs a
path that exists: ``opencode.toml``, ``.opencode/``, ``.claude/``, ``.mcp.json`` or ``.git``
that are absent could be created from inside, and all of them are read outside the sandbox
later (config that widens the sandbox, hooks and MCP servers that run unsandboxed, a git
config whose ``core.fsmonitor`` runs on the next ``git status``). So around every sandboxed
command ``Guard`` records these paths (absent / file bytes / directory listing) and, after it,
removes what was created and restores files that changed; the bash tool tells the model and
the user what was undone.

Limit: a job the command left running in the background (``cmd &``) can still write after the
check. The next start's project trust check (a hash over these files) treats such a change
as an untrusted project; restoring here puts back the exact bytes, so it never blesses one.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

# Relative to the workspace; ``.git`` entries only matter when ``.git`` is a directory.
PROTECTED_NAMES = (
    "opencode.toml",
    ".opencode",
    ".claude",
    ".mcp.json",
    ".git",
    ".git/config",
    ".git/hooks",
    ".git/commondir",  # git follows it to another "common" dir with its own config
)
_MAX_FILE = 1 << 20  # bigger files are compared by size and time only (and not restored)
_MAX_ENTRIES = 2000  # a directory with more entries is compared by its first ones


@dataclass(frozen=True, slots=True)
class _State:
    kind: str  # "absent", "file", "dir", "link", "other"
    data: bytes | None = None  # a small file's bytes, a link's target
    mode: int = 0
    listing: tuple[tuple[str, int, int, int], ...] = ()  # dir: (relpath, mode, size, mtime)


def _state(path: Path, shallow: bool = False) -> _State:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return _State("absent")
    except OSError:
        return _State("other")
    if stat.S_ISLNK(info.st_mode):
        return _State("link", os.readlink(path).encode(), info.st_mode)
    if stat.S_ISREG(info.st_mode):
        data = None
        if info.st_size <= _MAX_FILE:
            try:
                data = path.read_bytes()
            except OSError:
                data = None
        listing = ((".", info.st_mode, info.st_size, info.st_mtime_ns),)
        return _State("file", data, info.st_mode, listing)
    if stat.S_ISDIR(info.st_mode):
        if shallow:  # .git: its contents change on every commit; only its identity counts
            return _State("dir", None, info.st_mode, (("", 0, info.st_dev, info.st_ino),))
        return _State("dir", None, info.st_mode, _listing(path))
    return _State("other", None, info.st_mode)


def _listing(root: Path) -> tuple[tuple[str, int, int, int], ...]:
    found: list[tuple[str, int, int, int]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            found.append(
                (os.path.relpath(full, root), info.st_mode, info.st_size, info.st_mtime_ns)
            )
            if len(found) >= _MAX_ENTRIES:
                return tuple(found)
    return tuple(found)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


class Guard:
    """The protected paths of ``cwd`` as they were; ``undo`` reverts changes since."""

    def __init__(
        self, cwd: Path, extra: tuple[Path, ...] = (), *, restore_existing: bool = True
    ) -> None:
        """``extra``: absolute paths outside the workspace to guard too (a worktree's
        ``gitdir``/``commondir`` pointers and its git dirs' config and hooks).
        ``restore_existing`` False (bwrap, which keeps existing ones read-only): only what
        the command created is undone, so an edit the user makes meanwhile is never undone."""
        self.restore_existing = restore_existing
        self.root = cwd.resolve()
        self.paths = {name: self.root / name for name in PROTECTED_NAMES}
        self.paths.update((str(p), p) for p in extra)
        self.before = {name: _state(p, name == ".git") for name, p in self.paths.items()}

    def undo(self) -> list[str]:
        """Revert every change to a protected path; one line per path changed."""
        lines: list[str] = []
        git_created = self.before[".git"].kind == "absent"
        for name, before in self.before.items():
            if git_created and name.startswith(".git/"):
                continue  # the whole new .git goes
            path = self.paths[name]
            now = _state(path, name == ".git")
            if now == before or (before.kind != "absent" and not self.restore_existing):
                continue
            try:
                lines.append(self._revert(name, path, before, now))
            except OSError as exc:
                lines.append(f"{name}: changed and could NOT be undone ({exc.strerror or exc})")
        return lines

    def _revert(self, name: str, path: Path, before: _State, now: _State) -> str:
        if before.kind == "absent":
            _remove(path)
            return f"{name}: created by the command, removed"
        if before.kind == "file" and before.data is not None:
            if now.kind != "absent":
                _remove(path)
            path.write_bytes(before.data)
            os.chmod(path, stat.S_IMODE(before.mode))
            return f"{name}: changed by the command, restored"
        if before.kind == "link" and before.data is not None:
            if now.kind != "absent":
                _remove(path)
            os.symlink(before.data.decode(), path)
            return f"{name}: changed by the command, restored"
        return f"{name}: changed by the command and could NOT be undone; check it by hand"


def undo_note(lines: list[str]) -> str:
    """What the model and the user read after a command whose protected changes were undone."""
    body = "\n".join(f"  {line}" for line in lines)
    return (
        "[opencode] undone: sandboxed commands may not create or change the project's "
        "configuration (opencode.toml, .opencode/, .claude/, .mcp.json) or git's own files "
        f"(.git, its config, hooks, commondir):\n{body}\n"
        "Ask the user to make such a change themselves.\n"
    )
