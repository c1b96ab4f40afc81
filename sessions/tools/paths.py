"""Path rules every file tool shares: resolution, the workspace boundary, sensitive paths, file
kinds, and blocking file I/O kept off the event loop.

A path is resolved against the working directory with symlinks followed before anything is
decided about it, so a link inside the project that points out of it is outside, and a link to
``.env`` is ``.env``. The resolved path, shown relative to the working directory when inside
it, is the permission subject. Its default is ``ask`` when it lies outside the working
directory or when ``sensitive_reason`` names it: ``.git`` internals (hooks and config run
commands), ``.env*`` secrets, ``~/.ssh``, and opencode's own config and data directories.

Only regular files are read or written: a FIFO would block ``open`` forever, a device can be
endless. ``open_regular`` checks with ``os.stat`` and opens non-blocking, so even a FIFO swapped
in between the two calls cannot hang. ``run_blocking`` runs file I/O in a daemon thread with a
deadline, so a stuck file system never holds the event loop or stops SIGINT/SIGTERM ending
``opencode run``.

``open_resolved`` opens an already resolved path with no symlink followed anywhere on it
(openat-style, one ``O_NOFOLLOW`` directory descriptor per component), for the file tools.
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from opencode.sessions.tools.base import PermissionSubject, ToolError

T = TypeVar("T")
BINARY_SNIFF_BYTES = 8192
IO_DEADLINE_S = 120.0
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
# Example env files are documentation, not secrets.
_ENV_EXAMPLES = {".env.example", ".env.sample", ".env.template", ".env.dist"}


def resolve_path(raw: str, cwd: Path) -> Path:
    path = Path(os.path.expanduser(raw))
    if not path.is_absolute():
        path = cwd / path
    return path.resolve(strict=False)


def is_inside(path: Path, cwd: Path) -> bool:
    return path.is_relative_to(cwd.resolve())


def display_path(path: Path, cwd: Path) -> str:
    root = cwd.resolve()
    if path.is_relative_to(root):
        rel = path.relative_to(root).as_posix()
        return rel or "."
    return str(path)


def is_env_file(path: Path) -> bool:
    name = path.name
    return (name == ".env" or name.startswith(".env.")) and name not in _ENV_EXAMPLES


def _protected_dirs() -> tuple[tuple[Path, str], ...]:
    env = os.environ
    keys = ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "OPENCODE_CONFIG", "OPENCODE_DATA_DIR")
    return _protected_dirs_for(tuple(env.get(k) for k in keys))


@lru_cache(maxsize=8)
def _protected_dirs_for(_env: tuple[str | None, ...]) -> tuple[tuple[Path, str], ...]:
    # Cached per environment: grep asks once per file it walks past.
    # Imported here: config pulls in tomllib and friends, which most tool calls never need.
    from opencode.sessions.config import default_data_dir, global_config_path

    dirs = [
        (Path.home() / ".ssh", "SSH keys and configuration"),
        (global_config_path().parent, "opencode's configuration"),
    ]
    explicit = os.environ.get("OPENCODE_CONFIG")
    if explicit:
        dirs.append((Path(explicit).expanduser(), "opencode's configuration"))
    data = os.environ.get("OPENCODE_DATA_DIR")
    dirs.append((Path(data).expanduser() if data else default_data_dir(), "opencode's data"))
    return tuple((d.resolve(strict=False), why) for d, why in dirs)


# A project's own configuration: a write there could widen the sandbox or permissions, add
# hooks (run unsandboxed) or MCP servers at the next start, so it is asked about.
_PROJECT_CONFIG_FILES = frozenset({"opencode.toml", ".mcp.json"})
_PROJECT_CONFIG_DIRS = frozenset({".opencode", ".claude"})


def sensitive_reason(path: Path) -> str | None:
    """Why acting on the resolved ``path`` must be asked about even when the tool is allowed,
    or None. ``.git`` internals: hooks run on the next git command and ``core.fsmonitor`` in
    ``.git/config`` runs any program; ``.env*``: secrets."""
    if ".git" in path.parts:
        return "git internals (.git): its hooks and config run commands"
    if path.name in _PROJECT_CONFIG_FILES or any(p in _PROJECT_CONFIG_DIRS for p in path.parts):
        return (
            "project configuration (opencode.toml, .opencode/, .claude/, .mcp.json): "
            "it sets the sandbox, permissions, hooks and servers"
        )
    if is_env_file(path):
        return "an environment file (.env*) that may hold secrets"
    for directory, why in _protected_dirs():
        if path == directory or path.is_relative_to(directory):
            return why
    return None


def path_subject(raw: str, cwd: Path) -> PermissionSubject:
    """Subject for a tool acting on ``raw``: the resolved path; ask outside cwd and for
    sensitive paths."""
    path = resolve_path(raw, cwd)
    default = None
    if not is_inside(path, cwd) or sensitive_reason(path) is not None:
        default = "ask"
    return PermissionSubject(display_path(path, cwd), default, resolved=path)


def looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sniffed block is still text.
        return exc.start < len(head) - 4
    return False


# ---------------------------------------------------------------------------- file kinds


def file_kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "regular file"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    return "special file"


def not_regular(shown: str, mode: int) -> ToolError:
    return ToolError(
        f"{shown} is a {file_kind(mode)}, not a regular file; the file tools read and write "
        "regular files only (reading a pipe or device could block or never end)"
    )


def open_regular(path: Path, shown: str, flags: int = os.O_RDONLY) -> int:
    """A file descriptor on the regular file ``path`` (already resolved: a symlink in its last
    component is refused), or ToolError; never blocks on a FIFO.

    ``flags`` may add ``O_WRONLY | O_CREAT | ...``; a missing file raises FileNotFoundError
    unless O_CREAT is given."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if not flags & os.O_CREAT:
            raise
    else:
        if not stat.S_ISREG(mode):
            raise not_regular(shown, mode)
    try:
        # O_NOFOLLOW: the path was resolved when permission was asked; a link swapped in
        # since then must not redirect the open.
        fd = os.open(path, flags | os.O_NONBLOCK | os.O_CLOEXEC | _NOFOLLOW, 0o666)
    except PermissionError:
        raise ToolError(f"permission denied opening {shown}") from None
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ToolError(f"cannot open {shown}: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):  # swapped in after the stat above
        os.close(fd)
        raise not_regular(shown, mode)
    return fd


_DIR_FLAGS = os.O_DIRECTORY | getattr(os, "O_PATH", os.O_RDONLY) | os.O_CLOEXEC | _NOFOLLOW


def _swapped(shown: str, where: str, why: str) -> ToolError:
    return ToolError(
        f"{where} on the way to {shown} is {why}: it changed after permission was decided "
        "(a symlink swapped in?); nothing was written or read there. Check that directory, "
        "then retry"
    )


def _not_a_dir(parent_fd: int, name: str, walked: Path, shown: str) -> ToolError:
    try:
        mode = os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode
    except OSError:
        mode = 0
    if stat.S_ISLNK(mode):
        return _swapped(shown, str(walked), "a symlink")
    return ToolError(f"{walked} is a {file_kind(mode)}, not a directory; {shown} cannot be there")


def open_resolved(
    path: Path,
    shown: str,
    flags: int = os.O_RDONLY,
    *,
    make_dirs: bool = False,
    created: list[Path] | None = None,
) -> int:
    """A file descriptor on the regular file at the already resolved absolute ``path``, opened
    so that no component can be a symlink: every directory from ``/`` down is opened with
    ``O_DIRECTORY | O_NOFOLLOW`` relative to its parent's descriptor (openat), and the file
    itself with ``O_NOFOLLOW`` relative to its parent. A resolved path has no links, so a link
    found on the way was swapped in after the permission decision and is refused (ToolError)
    rather than followed out of the approved place. ``make_dirs`` creates missing parents (one
    ``mkdir`` at a time, relative to the parent descriptor), each one it made appended to
    ``created`` (rewind removes only directories the session made). ``O_TRUNC`` is applied
    only after the descriptor is known to be a regular file. A missing file (or parent, without
    ``make_dirs``) raises FileNotFoundError unless ``O_CREAT`` is given."""
    if not path.is_absolute():
        raise ValueError(f"open_resolved needs an absolute path, not {path}")
    truncate = bool(flags & os.O_TRUNC)
    flags &= ~os.O_TRUNC
    parts = path.parts[1:]
    if not parts:
        raise ToolError(f"{shown} is a directory, not a file")
    fd = os.open(path.anchor, _DIR_FLAGS & ~_NOFOLLOW)
    try:
        walked = Path(path.anchor)
        for name in parts[:-1]:
            walked = walked / name
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not make_dirs:
                    raise
                try:
                    os.mkdir(name, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass  # made meanwhile: opened (and checked) below like any other
                else:
                    if created is not None:
                        created.append(walked)
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _not_a_dir(fd, name, walked, shown) from None
                if isinstance(exc, PermissionError):
                    raise ToolError(f"permission denied opening {walked}") from None
                raise
            os.close(fd)
            fd = child
            if not stat.S_ISDIR(os.fstat(fd).st_mode):  # O_PATH|O_NOFOLLOW on a link
                raise _swapped(shown, str(walked), "a symlink")
        try:
            file_fd = os.open(
                parts[-1], flags | os.O_NONBLOCK | os.O_CLOEXEC | _NOFOLLOW, 0o666, dir_fd=fd
            )
        except PermissionError:
            raise ToolError(f"permission denied opening {shown}") from None
        except IsADirectoryError:
            raise ToolError(f"{shown} is a directory, not a file") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _swapped(shown, shown, "a symlink") from None
            if isinstance(exc, FileNotFoundError):
                raise
            raise ToolError(f"cannot open {shown}: {exc.strerror}") from None
    finally:
        os.close(fd)
    mode = os.fstat(file_fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(file_fd)
        if stat.S_ISDIR(mode):
            raise ToolError(f"{shown} is a directory, not a file")
        raise not_regular(shown, mode)
    if truncate:
        os.ftruncate(file_fd, 0)
    return file_fd


def read_regular(path: Path, shown: str) -> bytes:
    """The whole content of a regular file (callers bound the size first)."""
    with os.fdopen(open_regular(path, shown), "rb") as fh:
        return fh.read()


def write_regular(path: Path, shown: str, data: bytes) -> None:
    """Replace the content of ``path`` (created if missing), refusing anything not regular."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    with os.fdopen(open_regular(path, shown, flags), "wb") as fh:
        fh.write(data)


def regular_size(path: Path, shown: str) -> int | None:
    """Size of an existing regular file, None when missing; ToolError for other kinds."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(st.st_mode):
        raise ToolError(f"{shown} is a directory, not a file; use `list` to see its contents")
    if not stat.S_ISREG(st.st_mode):
        raise not_regular(shown, st.st_mode)
    return st.st_size


# ---------------------------------------------------------------------------- blocking I/O


async def run_blocking(fn: Callable[[], T], what: str, deadline: float = IO_DEADLINE_S) -> T:
    """``fn()`` in a daemon thread; ToolError if it takes longer than ``deadline`` seconds.

    A daemon thread rather than ``asyncio.to_thread``: the default executor's threads are
    joined at interpreter exit, so one stuck in a read would keep a cancelled run alive."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)  # type: ignore[arg-type]

    def work() -> None:
        try:
            value = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            result: tuple[T | None, BaseException | None] = (None, exc)
        else:
            result = (value, None)
        try:
            loop.call_soon_threadsafe(settle, *result)
        except RuntimeError:
            pass  # the loop is gone: nobody waits for this result any more

    threading.Thread(target=work, name=f"opencode-io: {what}", daemon=True).start()
    try:
        return await asyncio.wait_for(future, deadline)
    except TimeoutError:
        raise ToolError(
            f"{what} did not finish within {deadline:.0f} s (a slow or stuck file system?); "
            "try a smaller file or path"
        ) from None
