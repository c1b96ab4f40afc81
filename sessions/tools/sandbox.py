"""The OS sandbox the bash tool runs commands in, and which mode applies here.

Linux: bubblewrap (``bwrap``). The command sees the whole filesystem read-only except the
workspace and a private ``/tmp``; inside the workspace ``.git/hooks``, ``.git/config``,
``opencode.toml``, ``.opencode/``, ``.claude/``, ``.mcp.json``, the loaded config files / data
dir, a worktree's ``.git`` file and its git dirs' ``commondir``/``gitdir``/config/hooks, and
submodules' configs stay read-only (a hook or a config edit would run or take effect later,
outside the sandbox). ``.git`` itself is bound onto itself: a mount point cannot be renamed,
so it cannot be swapped for a copy with a writable config. Binds need existing paths; those
absent are guarded by ``protected.Guard`` (created ones are removed after the command). A
workspace that is ``/``, ``$HOME`` or an ancestor of it is not sandboxed at all (bash asks).
The network is a private loopback only, unless ``[sandbox] network = true``. Either way the
host's Unix sockets stay out of reach (``/run``, ``/var/run`` and ``$XDG_RUNTIME_DIR`` are
empty tmpfs, and a seccomp filter refuses ``socket(AF_UNIX)``, which is what also stops
abstract sockets when the network namespace is the host's): the session bus, the systemd user
manager, X11, docker would each run code outside. ``[sandbox] unix_sockets = true`` lifts
both (docker's and podman's sockets stay masked); a trusted project only.
``--die-with-parent`` ties the sandbox to the process that started it (the shell tool's
supervisor). No pid namespace: that would kill ``cmd &`` background jobs the moment the
shell exits, which bash's contract (a dev server started with ``&`` keeps running) forbids.

macOS: ``sandbox-exec`` with a small profile (writes only to the workspace and temp dirs, the
same read-only paths, network denied unless allowed). Best effort and untested here.

Anywhere else, or with ``[sandbox] enabled = false``, commands run unsandboxed; the permission
default for bash is then ``ask`` (see ``permissions``).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from opencode.sessions.config import SandboxConfig, global_config_path

Kind = Literal["bwrap", "sandbox-exec", "none"]
# Paths under the workspace that must not change from inside: git runs hooks and reads its
# config outside the sandbox later; opencode reads its own config at the next start.
PROTECTED_IN_WORKSPACE = (
    ".git/hooks",
    ".git/config",
    "opencode.toml",
    ".opencode",
    ".claude",
    ".mcp.json",
)


@dataclass(frozen=True, slots=True)
class SandboxMode:
    """Which sandbox a bash command gets here, and a one-line reason for people."""

    kind: Kind
    network: bool
    reason: str

    @property
    def sandboxed(self) -> bool:
        return self.kind != "none"

    def describe(self) -> str:
        if not self.sandboxed:
            return f"bash unsandboxed ({self.reason}): commands are asked about"
        net = "network on" if self.network else "network off"
        return f"bash sandboxed with {self.kind} (workspace-write, {net})"


@functools.cache
def bwrap_works() -> bool:
    """bwrap is installed and can create the namespaces we use on this machine."""
    exe = shutil.which("bwrap")
    if exe is None:
        return False
    probe = [exe, "--ro-bind", "/", "/", "--dev", "/dev", "--unshare-user", "--cap-drop", "ALL"]
    probe += ["--unshare-net", "--die-with-parent"]
    try:
        done = subprocess.run([*probe, "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@functools.cache
def _supports_disable_userns() -> bool:
    """bwrap >= 0.8 can forbid user namespaces inside the sandbox (no nested remount games)."""
    exe = shutil.which("bwrap") or "bwrap"
    probe = [exe, "--ro-bind", "/", "/", "--unshare-user", "--disable-userns", "true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def sandbox_mode(config: SandboxConfig, cwd: Path, network: bool | None = None) -> SandboxMode:
    """The mode a command in ``cwd`` runs in under ``config`` (``network`` overrides it)."""
    net = config.network if network is None else network
    if not config.enabled:
        return SandboxMode("none", True, "[sandbox] enabled = false")
    if cwd.resolve() == Path("/"):
        return SandboxMode("none", True, "the workspace is /, so nothing would be protected")
    home = _home_inside(cwd)
    if home is not None:
        # Writable as a whole it would hand out ~/.bashrc, ~/.ssh/authorized_keys, ~/.config
        # autostart entries...: no "sandbox" worth the name; commands are asked about.
        return SandboxMode(
            "none",
            True,
            f"the workspace {cwd.resolve()} contains the home directory {home}; "
            "start opencode in a project folder to get the sandbox",
        )
    if sys.platform == "darwin":
        if shutil.which("sandbox-exec"):
            return SandboxMode("sandbox-exec", net, "macOS sandbox-exec")
        return SandboxMode("none", True, "sandbox-exec not found")
    if sys.platform.startswith("linux"):
        if bwrap_works():
            return SandboxMode("bwrap", net, "bubblewrap")
        return SandboxMode("none", True, "bwrap not installed or not usable; install bubblewrap")
    return SandboxMode("none", True, f"no sandbox for {sys.platform}")


# Start-up files and credentials under $HOME: kept read-only by any sandbox whose workspace
# contains them (a workspace that contains $HOME itself is not sandboxed at all, see above).
HOME_PROTECTED = (
    ".ssh",
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".config",
    ".gitconfig",
    ".local/bin",
    ".pam_environment",
)


def _homes() -> list[Path]:
    """$HOME and the account's home from the password database (they can differ)."""
    found: list[Path] = []
    candidates = [os.environ.get("HOME")]
    try:
        import pwd

        candidates.append(pwd.getpwuid(os.getuid()).pw_dir)
    except (ImportError, KeyError):
        pass
    for raw in candidates:
        if raw and raw != "/":
            path = Path(raw).resolve()
            if path not in found:
                found.append(path)
    return found


def _home_inside(cwd: Path) -> Path | None:
    root = cwd.resolve()
    for home in _homes():
        if home == root or home.is_relative_to(root):
            return home
    return None


def describe(config: SandboxConfig, cwd: Path) -> str:
    """A line for the TUI's status or the permission dialog: which mode bash runs in."""
    return sandbox_mode(config, cwd).describe()


def protected_paths(config: SandboxConfig, cwd: Path) -> list[Path]:
    """Existing paths inside the workspace that the sandbox keeps read-only."""
    root = cwd.resolve()
    git = root / ".git"
    if git.is_dir() and not (git / "hooks").exists():
        # A hooks dir created from inside would run later outside: make it now, read-only.
        (git / "hooks").mkdir()
    candidates = [root / name for name in PROTECTED_IN_WORKSPACE]
    candidates += [home / name for home in _homes() for name in HOME_PROTECTED]
    candidates += [Path(p) for p in config.protect]
    candidates.append(global_config_path().parent)
    data_env = os.environ.get("OPENCODE_DATA_DIR")
    if data_env:
        candidates.append(Path(data_env))
    found: list[Path] = []
    for path in candidates:
        path = path.expanduser().resolve()
        if path.exists() and path.is_relative_to(root) and path not in found:
            found.append(path)
    return found


def linked_git_dirs(cwd: Path) -> list[Path]:
    """For a ``git worktree`` checkout (``.git`` is a file): its own git dir and the common
    one, which git writes to on commit; their hooks and config stay read-only."""
    marker = cwd.resolve() / ".git"
    if not marker.is_file():
        return []
    try:
        line = marker.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return []
    if not line.startswith("gitdir:"):
        return []
    gitdir = (marker.parent / line.removeprefix("gitdir:").strip()).resolve()
    if not gitdir.is_dir():
        return []
    found = [gitdir]
    common_file = gitdir / "commondir"
    if common_file.is_file():
        common = (gitdir / common_file.read_text(encoding="utf-8").strip()).resolve()
        if common.is_dir() and common != Path("/"):
            found.append(common)
    return found


def git_pointers(cwd: Path) -> list[Path]:
    """Files that tell git where a worktree's repository is (the workspace's ``.git`` file,
    its git dir's ``commondir``/``gitdir``) and the config and hooks of every git dir git
    would read for it (the common one, submodules'): rewriting any of them points the host's
    next git command at a config the sandbox made. Only those that exist."""
    root = cwd.resolve()
    found: list[Path] = []
    marker = root / ".git"
    if marker.is_file() and not marker.is_symlink():
        found.append(marker)
    dirs = linked_git_dirs(cwd)
    if marker.is_dir() and not marker.is_symlink():
        dirs += _module_git_dirs(marker / "modules")
    for d in dirs:
        found += [d / name for name in ("commondir", "gitdir", "config", "hooks")]
    return [p for p in found if p.exists()]


def _module_git_dirs(modules: Path, limit: int = 200) -> list[Path]:
    """Submodules' git dirs under ``.git/modules`` (names may hold slashes; nested ones sit
    in ``modules/`` again), without walking their objects."""
    found: list[Path] = []
    if not modules.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(modules):
        if "HEAD" in filenames and "config" in filenames:
            found.append(Path(dirpath))
            dirnames[:] = [d for d in dirnames if d == "modules"]
        else:
            dirnames[:] = [d for d in dirnames if d not in ("objects", "refs", "logs")]
        if len(found) >= limit:
            break
    return found


def guarded_outside(cwd: Path) -> tuple[Path, ...]:
    """Paths outside the workspace ``protected.Guard`` also checks (a worktree's git dirs)."""
    root = cwd.resolve()
    found = [p for p in git_pointers(cwd) if not p.is_relative_to(root)]
    # Absent ones too: a `commondir` created in the common dir redirects git run there.
    found += [d / "commondir" for d in linked_git_dirs(cwd) if d / "commondir" not in found]
    return tuple(found)


def wrap(
    mode: SandboxMode,
    config: SandboxConfig,
    cwd: Path,
    argv: list[str],
    seccomp_fd: int | None = None,
) -> list[str]:
    """``argv`` prefixed so that it runs inside the sandbox ``mode`` names; ``seccomp_fd``
    (bwrap only) is a readable fd holding the ``seccomp`` filter, passed to the child."""
    if mode.kind == "bwrap":
        return _bwrap(mode, config, cwd, argv, seccomp_fd)
    if mode.kind == "sandbox-exec":
        return ["sandbox-exec", "-p", _seatbelt_profile(mode, config, cwd), *argv]
    return argv


def _bwrap(
    mode: SandboxMode, config: SandboxConfig, cwd: Path, argv: list[str], seccomp_fd: int | None
) -> list[str]:
    root = str(cwd.resolve())
    # /proc stays the host's (read-only): a fresh one needs a pid namespace, see above.
    args = [shutil.which("bwrap") or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev"]
    args += ["--tmpfs", "/tmp", "--tmpfs", "/var/tmp"]
    if not config.unix_sockets:
        # Before the binds below: a workspace (or its git dir) under /run, e.g. a USB drive
        # in /run/media, is bound on top of the empty tmpfs and stays visible.
        args += _hide_host_sockets(root, mode.network)
    args += ["--bind", root, root]
    for extra in config.writable:  # [sandbox] writable: only those that exist
        if extra.is_dir():
            args += ["--bind", str(extra.resolve()), str(extra.resolve())]
    git = Path(root) / ".git"
    if git.is_dir() and not git.is_symlink():
        # A mount point cannot be renamed or removed (EBUSY): `mv .git x; mkdir .git` with a
        # writable config of its own is not possible; its config and hooks are ro below.
        args += ["--bind", str(git), str(git)]
    linked = linked_git_dirs(cwd)
    for path in linked:  # a worktree's git dirs live outside it: git must write there
        args += ["--bind", str(path), str(path)]
    for path in protected_paths(config, cwd) + git_pointers(cwd):
        args += ["--ro-bind", str(path), str(path)]
    # A user namespace with no capabilities, and no nested one: otherwise a root caller's
    # command keeps CAP_SYS_ADMIN and `mount -o remount,rw /` undoes the read-only view.
    args += ["--unshare-user", "--cap-drop", "ALL"]
    if _supports_disable_userns():
        args.append("--disable-userns")
    args += ["--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if not mode.network:
        args.append("--unshare-net")
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    for sock in ("/run/docker.sock", "/var/run/docker.sock", "/run/podman/podman.sock"):
        # Root on the host by another name: masked even where Unix sockets are allowed.
        if Path(sock).exists() and not Path(sock).is_symlink():
            args += ["--ro-bind", "/dev/null", sock]
    if not config.unix_sockets:
        # Points at the session bus (a path under /run/user or an abstract name): refused
        # anyway, but a client that finds no address fails faster and says why.
        args += ["--unsetenv", "DBUS_SESSION_BUS_ADDRESS"]
    args += [
        "--unsetenv",
        "SSH_AUTH_SOCK",
        "--die-with-parent",
        "--setenv",
        "TMPDIR",
        "/tmp",
        "--chdir",
        root,
        "--",
        *argv,
    ]
    return args


def filters_unix_sockets(mode: SandboxMode, config: SandboxConfig) -> bool:
    """Whether the command gets the seccomp filter that refuses ``socket(AF_UNIX)`` (see
    ``seccomp``): under bwrap, network on or off, unless ``[sandbox] unix_sockets = true``."""
    return mode.kind == "bwrap" and not config.unix_sockets


def _hide_host_sockets(root: str, network: bool) -> list[str]:
    """bwrap arguments that lay empty tmpfs over where host services keep their sockets:
    ``/run`` (``/run/user/UID/bus``, ``/run/dbus``, systemd's, docker's, postgres'...),
    ``/var/run`` where it is a directory of its own, and ``$XDG_RUNTIME_DIR`` wherever it is
    (``/tmp/.X11-unix`` is under the private ``/tmp`` already). Defence in depth beside the
    seccomp filter, which alone also stops abstract sockets (X11's ``@/tmp/.X11-unix/X0``,
    dbus): those live in the network namespace, which is the host's when the network is on.
    With the network on, a ``/etc/resolv.conf`` that points into ``/run`` (systemd-resolved,
    NetworkManager, resolvconf) is bound back read-only, or name lookups would stop."""
    args = ["--tmpfs", "/run"]
    var_run = Path("/var/run")
    if var_run.is_dir() and not var_run.is_symlink():
        args += ["--tmpfs", "/var/run"]
    hidden = [Path("/run"), Path("/tmp"), Path("/var/tmp"), Path("/var/run").resolve()]
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and Path(runtime).is_absolute() and Path(runtime).is_dir():
        path = Path(runtime).resolve()
        covered = any(path == h or path.is_relative_to(h) for h in hidden)
        # Never over the workspace or above it: that would hide the project itself.
        overlaps = path.is_relative_to(root) or Path(root).is_relative_to(path)
        if not covered and not overlaps and path != Path("/"):
            args += ["--tmpfs", str(path)]
    if network:
        resolv = Path("/etc/resolv.conf")
        target = resolv.resolve()
        if resolv.is_symlink() and target.is_file():
            if any(target.is_relative_to(h) for h in (Path("/run"), var_run.resolve())):
                args += ["--ro-bind", str(target), str(target)]
    return args


def _seatbelt_profile(mode: SandboxMode, config: SandboxConfig, cwd: Path) -> str:
    def quoted(path: Path | str) -> str:
        return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'

    root = cwd.resolve()
    writable = [root, Path("/private/tmp"), Path("/private/var/folders"), *config.writable]
    lines = ["(version 1)", "(allow default)", "(deny file-write*)"]
    lines.append(
        "(allow file-write* "
        + " ".join(f"(subpath {quoted(p)})" for p in writable)
        + ' (literal "/dev/null") (regex #"^/dev/fd/") (regex #"^/dev/tty"))'
    )
    for path in protected_paths(config, cwd):  # later rules win in SBPL
        lines.append(f"(deny file-write* (subpath {quoted(path)}))")
    if not mode.network:
        lines.append("(deny network*)")
        lines.append('(allow network* (remote unix-socket (path-literal "/var/run/syslog")))')
    return "\n".join(lines)
