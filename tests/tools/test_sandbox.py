"""Sandbox escape probes: real commands in real bwrap, each trying to write or connect outside.

Every probe asserts on the host afterwards (the file outside does not exist, the protected file
is unchanged, the loopback server saw no request). ``ESCAPES`` is the count the integrator
reports as "escapes tried: N, held: N". Without a working bwrap these tests FAIL: CI installs
bubblewrap (.ci/run), so a skip would hide a missing sandbox.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from opencode.sessions.config import SandboxConfig
from opencode.sessions.tools.sandbox import sandbox_mode
from tests.support.stream_server import Reply, StreamServer
from tests.tools.conftest import run_bash

pytestmark = [pytest.mark.fault, pytest.mark.usefixtures("require_bwrap")]


@dataclass(frozen=True)
class Probe:
    name: str
    command: str  # {port}, {home_file}, {tmp_file} are filled in
    escaped: Callable[[Path, Env], bool]  # True when the probe got out


@dataclass(frozen=True)
class Env:
    project: Path
    server: StreamServer
    home_file: Path
    tmp_file: Path
    config_before: bytes
    toml_before: bytes
    unix: UnixListener


class UnixListener:
    """Unix socket servers on the host (one under $HOME, one under /run) counting accepts:
    the docker.sock / ssh-agent shape of an escape."""

    def __init__(self, tag: str) -> None:
        self.paths = [
            Path.home() / f".opencode-probe-{tag}.sock",
            Path("/run") / f"opencode-probe-{tag}.sock",
        ]
        self.accepted = 0
        self._socks: list[socket.socket] = []
        for path in self.paths:
            sock = socket.socket(socket.AF_UNIX)
            sock.bind(str(path))
            sock.listen(4)
            sock.settimeout(0.1)
            self._socks.append(sock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            for sock in self._socks:
                try:
                    conn, _ = sock.accept()
                except TimeoutError:
                    continue
                self.accepted += 1
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for sock, path in zip(self._socks, self.paths, strict=True):
            sock.close()
            path.unlink(missing_ok=True)


def _outside(name: str) -> Callable[[Path, Env], bool]:
    return lambda project, env: (project.parent / name).exists()


ESCAPES: list[Probe] = [
    Probe("process substitution", "ls <(touch ../x1)", _outside("x1")),
    Probe("output redirection", "ls >../x2", _outside("x2")),
    Probe("append redirection", "echo hi >>../x3", _outside("x3")),
    Probe("git diff --output", "git diff --output=../x4", _outside("x4")),
    Probe("cp outside", "cp opencode.toml ../x5", _outside("x5")),
    Probe("symlink out", "ln -s .. up && touch up/x6", _outside("x6")),
    Probe(
        "git hook",
        "mkdir -p .git/hooks; echo evil > .git/hooks/pre-commit",
        lambda p, e: (p / ".git/hooks/pre-commit").exists(),
    ),
    Probe(
        "git config",
        "echo '[core] hooksPath=/tmp' >> .git/config",
        lambda p, e: (p / ".git/config").read_bytes() != e.config_before,
    ),
    Probe(
        "project opencode.toml",
        "echo 'permission = 1' >> opencode.toml",
        lambda p, e: (p / "opencode.toml").read_bytes() != e.toml_before,
    ),
    Probe("write to $HOME", "touch {home_file}", lambda p, e: e.home_file.exists()),
    Probe("host /tmp", "touch {tmp_file}", lambda p, e: e.tmp_file.exists()),
    Probe("remount rw", "mount -o remount,rw / && touch ../x7", _outside("x7")),
    Probe(
        "new userns remount",
        "unshare -Urm sh -c 'mount -o remount,rw / ; mount --bind . .. ; touch ../x8'",
        _outside("x8"),
    ),
    Probe(
        "through /proc/1/root",
        "touch /proc/1/root$(realpath ..)/x9",
        _outside("x9"),
    ),
    Probe(
        "through the parent's /proc/PID/root",
        "touch /proc/$PPID/root$(realpath ..)/x10; p=$(ps -o ppid= $PPID); "
        "touch /proc/${{p// /}}/root$(realpath ..)/x10",
        _outside("x10"),
    ),
    Probe(
        "unix socket under $HOME",
        "python3 -c \"import socket; socket.socket(socket.AF_UNIX).connect('{sock_home}')\"",
        lambda p, e: e.unix.accepted > 0,
    ),
    Probe(
        "unix socket under /run",
        "curl -s -m 3 --unix-socket {sock_run} http://x/",
        lambda p, e: e.unix.accepted > 0,
    ),
    Probe(
        "curl to host loopback",
        "curl -s -m 3 http://127.0.0.1:{port}/v1/probe",
        lambda p, e: bool(e.server.requests),
    ),
    Probe(
        "python socket to host loopback",
        "python3 -c \"import socket; s=socket.create_connection(('127.0.0.1', {port}), 3); "
        "s.sendall(b'GET /v1/raw HTTP/1.0\\r\\n\\r\\n'); print(s.recv(100))\"",
        lambda p, e: bool(e.server.requests),
    ),
]


def git(project: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)


@pytest.fixture(params=["under-tmp", "under-home"])
def workspace(request: pytest.FixtureRequest, project: Path) -> Iterator[Path]:
    """The probes run twice: in a project under /tmp (where the sandbox lays a private tmpfs
    over the parent) and in one under $HOME (where the parent is the read-only host tree)."""
    if request.param == "under-tmp":
        yield project
        return
    base = Path.home() / ".cache" / f"opencode-probe-{uuid.uuid4().hex[:12]}"
    root = base / "proj"
    root.mkdir(parents=True)
    try:
        yield root
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("probe", ESCAPES, ids=[p.name for p in ESCAPES])
async def test_escape_probe_is_held(probe: Probe, workspace: Path) -> None:
    project = workspace
    (project / "opencode.toml").write_text('model = "x/y"\n')
    git(project, "init", "-q")
    git(
        project,
        "-c",
        "user.email=t@t",
        "-c",
        "user.name=t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "init",
    )
    (project / "tracked.txt").write_text("changed\n")
    tag = uuid.uuid4().hex[:12]
    home_file = Path.home() / f"opencode-escape-{tag}"
    tmp_file = Path("/tmp") / f"opencode-escape-{tag}"
    unix = UnixListener(tag)
    with StreamServer([Reply(body=b"hi")]) as server:
        env = Env(
            project,
            server,
            home_file,
            tmp_file,
            (project / ".git/config").read_bytes(),
            (project / "opencode.toml").read_bytes(),
            unix,
        )
        command = probe.command.format(
            port=server.port,
            home_file=home_file,
            tmp_file=tmp_file,
            sock_home=unix.paths[0],
            sock_run=unix.paths[1],
        )
        result = await run_bash(project, command, SandboxConfig())
        try:
            assert result.metadata["sandbox"] == "bwrap", result.metadata
            assert not probe.escaped(project, env), f"escaped: {command}\n{result.output}"
        finally:
            unix.close()
            home_file.unlink(missing_ok=True)
            tmp_file.unlink(missing_ok=True)


async def test_the_workspace_itself_is_writable(project: Path) -> None:
    result = await run_bash(
        project, "echo made > made.txt && mkdir -p d && echo ok > d/f; cat d/f", SandboxConfig()
    )
    assert result.output == "ok\n[exit code 0]"
    assert (project / "made.txt").read_text() == "made\n"


async def test_private_tmp_works_inside(project: Path) -> None:
    result = await run_bash(project, "echo t > /tmp/scratch && cat /tmp/scratch", SandboxConfig())
    assert result.output == "t\n[exit code 0]"


async def test_network_on_when_config_says_so(project: Path) -> None:
    with StreamServer([Reply(body=b"hello-from-host", chunked=False)]) as server:
        command = f"curl -s -m 5 http://127.0.0.1:{server.port}/v1/x"
        off = await run_bash(project, command, SandboxConfig())
        assert not server.requests
        on = await run_bash(project, command, SandboxConfig(network=True))
        assert "hello-from-host" in on.output
        by_rule = await run_bash(project, command, SandboxConfig(network_commands=("curl *",)))
        assert "hello-from-host" in by_rule.output
    assert "hello-from-host" not in off.output
    assert off.metadata["sandbox_mode"].endswith("network off)")


async def test_unsandboxed_when_disabled_and_says_so(project: Path) -> None:
    result = await run_bash(project, "touch ../made-outside", SandboxConfig(enabled=False))
    assert result.metadata["sandbox"] == "none"
    assert (project.parent / "made-outside").exists()
    mode = sandbox_mode(SandboxConfig(enabled=False), project)
    assert not mode.sandboxed and "enabled = false" in mode.describe()


def test_escape_count() -> None:
    # Each probe runs in both workspaces: 2 x len(ESCAPES) escapes tried.
    print(f"escapes tried: {2 * len(ESCAPES)}")
    assert len(ESCAPES) >= 15


def test_sandbox_section_is_read_and_checked(tmp_path: Path) -> None:
    from opencode.sessions.config import ConfigError, active_sandbox, load_config

    (tmp_path / "opencode.toml").write_text(
        '[sandbox]\nnetwork = true\nnetwork_commands = ["git fetch*"]\nwritable = ["~/.npm"]\n'
    )
    config = load_config(tmp_path)
    assert config.sandbox.enabled and config.sandbox.network
    assert config.sandbox.network_commands == ("git fetch*",)
    assert config.sandbox.writable == (Path.home() / ".npm",)
    # Loading is pure (review C2): the engine hands config.sandbox to bash explicitly.
    assert active_sandbox() == SandboxConfig() and active_sandbox() is not config.sandbox
    (tmp_path / "opencode.toml").write_text('[sandbox]\nenabled = "no"\n')
    with pytest.raises(ConfigError, match=r"opencode.toml:2: key sandbox.enabled: expected true"):
        load_config(tmp_path)


def test_describe_for_the_tui(project: Path) -> None:
    from opencode.sessions.config import PermissionConfig
    from opencode.sessions.tools.permissions import Permissions

    p = Permissions(PermissionConfig(), project, sandbox=SandboxConfig())
    assert p.sandbox_description() == "bash sandboxed with bwrap (workspace-write, network off)"


async def test_git_worktree_can_commit_but_not_plant_hooks(tmp_path: Path) -> None:
    main, tree = tmp_path / "main", tmp_path / "tree"
    main.mkdir()
    git(main, "init", "-q")
    git(
        main,
        "-c",
        "user.email=t@t",
        "-c",
        "user.name=t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "a",
    )
    git(main, "worktree", "add", "-q", str(tree))
    command = (
        "echo x > f && git add f && git -c user.email=t@t -c user.name=t commit -qm b && "
        "echo committed; echo evil > $(git rev-parse --git-common-dir)/hooks/pre-commit"
    )
    result = await run_bash(tree, command, SandboxConfig())
    assert result.output.startswith("committed\n"), result.output
    assert not (main / ".git/hooks/pre-commit").exists()
