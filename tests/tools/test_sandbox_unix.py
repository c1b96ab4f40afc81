"""Host Unix sockets from inside the sandbox with the network on (review M6): real bwrap, real
listeners on the host, a sandboxed ``python3 -c`` trying to connect.

The listeners stand for the session bus and friends: an abstract socket (X11's and dbus's
shape; it lives in the network namespace, so only the seccomp filter stops it), a socket file
under ``/run`` and one under ``$XDG_RUNTIME_DIR`` (a folder under $HOME standing in for
``/run/user/UID``). Each counts the connections it accepted; that count is the assertion.
As in test_sandbox.py, a missing bwrap FAILS (CI installs it); only a machine the seccomp
filter has no program for skips.
"""

from __future__ import annotations

import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from opencode.sessions import trust
from opencode.sessions.config import SandboxConfig, load_config
from opencode.sessions.tools import seccomp
from tests.support.stream_server import Reply, StreamServer
from tests.tools.conftest import run_bash

pytestmark = [pytest.mark.fault, pytest.mark.usefixtures("require_bwrap")]


@pytest.fixture(autouse=True)
def require_seccomp(require_bwrap: None) -> None:
    # After require_bwrap: a machine without bwrap fails, whatever its seccomp support.
    if seccomp.program() is None:
        pytest.skip("no seccomp program for this machine: AF_UNIX is not filtered here")


class Listeners:
    """Three Unix listeners on the host, each counting the connections it accepted."""

    def __init__(self, runtime_dir: Path) -> None:
        tag = uuid.uuid4().hex[:12]
        self.abstract = f"\0opencode-probe-{tag}"
        self.run_path = Path("/run") / f"opencode-probe-{tag}.sock"
        self.runtime_path = runtime_dir / "bus"
        self.accepted: dict[str, int] = {}
        self._socks: dict[str, socket.socket] = {}
        for name, address in (
            ("abstract", self.abstract),
            ("run", str(self.run_path)),
            ("runtime", str(self.runtime_path)),
        ):
            sock = socket.socket(socket.AF_UNIX)
            sock.bind(address)
            sock.listen(4)
            sock.settimeout(0.1)
            self._socks[name] = sock
            self.accepted[name] = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            for name, sock in self._socks.items():
                try:
                    conn, _ = sock.accept()
                except TimeoutError:
                    continue
                self.accepted[name] += 1
                conn.sendall(b"host-service")
                conn.close()

    def probe_command(self) -> str:
        """A sandboxed script: connect to each, print what happened, one line per socket."""
        targets = [("abstract", self.abstract), ("run", str(self.run_path))]
        targets.append(("runtime", str(self.runtime_path)))
        script = (
            "import socket\n"
            f"for name, addr in {targets!r}:\n"
            "    try:\n"
            "        s = socket.socket(socket.AF_UNIX)\n"
            "        s.connect(addr)\n"
            "        print(name, 'connected', s.recv(64).decode())\n"
            "    except OSError as e:\n"
            "        print(name, 'refused', type(e).__name__)\n"
        )
        return f"python3 -c {_shell_quote(script)}"

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self._socks.values():
            sock.close()
        self.run_path.unlink(missing_ok=True)
        self.runtime_path.unlink(missing_ok=True)


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


@pytest.fixture
def runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """$XDG_RUNTIME_DIR in a folder under $HOME: outside /tmp, which is private inside anyway."""
    base = Path.home() / ".cache" / f"opencode-probe-{uuid.uuid4().hex[:12]}"
    (base / "runtime").mkdir(parents=True)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(base / "runtime"))
    try:
        yield base / "runtime"
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def listeners(runtime_dir: Path) -> Iterator[Listeners]:
    found = Listeners(runtime_dir)
    try:
        yield found
    finally:
        found.close()


@pytest.mark.parametrize("network", [True, False], ids=["network-on", "network-off"])
async def test_host_unix_sockets_are_out_of_reach(
    project: Path, listeners: Listeners, network: bool
) -> None:
    result = await run_bash(project, listeners.probe_command(), SandboxConfig(network=network))
    assert result.metadata["sandbox"] == "bwrap", result.metadata
    assert listeners.accepted == {"abstract": 0, "run": 0, "runtime": 0}, result.output
    for name in ("abstract", "run", "runtime"):
        assert f"{name} refused PermissionError" in result.output, result.output


async def test_socket_folders_are_empty_with_network_on(
    project: Path, listeners: Listeners
) -> None:
    # Beside the filter, the folders themselves are hidden: nothing to find or list there.
    command = (
        f"test -e {listeners.run_path} && echo run-visible; "
        f"test -e {listeners.runtime_path} && echo runtime-visible; "
        'echo "bus=${DBUS_SESSION_BUS_ADDRESS-unset}"'
    )
    result = await run_bash(project, command, SandboxConfig(network=True))
    assert "visible" not in result.output, result.output
    assert "bus=unset" in result.output


async def test_opt_in_reaches_host_unix_sockets(project: Path, listeners: Listeners) -> None:
    config = SandboxConfig(network=True, unix_sockets=True)
    result = await run_bash(project, listeners.probe_command(), config)
    assert listeners.accepted == {"abstract": 1, "run": 1, "runtime": 1}, result.output
    assert result.output.count("connected host-service") == 3, result.output


async def test_loopback_tcp_and_name_lookups_still_work_with_network_on(project: Path) -> None:
    with StreamServer([Reply(body=b"tcp-ok", chunked=False)] * 2) as server:
        script = (
            "import socket; print(socket.getaddrinfo('localhost', 80)[0][0].name); "
            f"s = socket.create_connection(('localhost', {server.port}), 5); "
            "s.sendall(b'GET /v1/raw HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n'); "
            "print(s.recv(200).decode().split()[1])"
        )
        command = (
            f"curl -s -m 5 http://127.0.0.1:{server.port}/v1/x; echo; "
            f"python3 -c {_shell_quote(script)}"
        )
        result = await run_bash(project, command, SandboxConfig(network=True))
        assert len(server.requests) == 2, result.output
    assert "tcp-ok" in result.output
    assert "AF_INET" in result.output and "\n200\n" in result.output, result.output


async def test_io_uring_cannot_go_around_the_filter(project: Path) -> None:
    # An io_uring SOCKET op makes a socket without the socket() syscall the filter sees.
    script = (
        "import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); "
        "params = ctypes.create_string_buffer(120); "
        "r = libc.syscall(425, 4, params); "
        "print('io_uring', r, os.strerror(ctypes.get_errno()) if r < 0 else 'made')"
    )
    result = await run_bash(
        project, f"python3 -c {_shell_quote(script)}", SandboxConfig(network=True)
    )
    assert "io_uring -1 Function not implemented" in result.output, result.output


async def test_workspace_under_run_stays_visible(tmp_path: Path) -> None:
    # /run is an empty tmpfs inside: a project there (a USB drive in /run/media) is bound on
    # top of it, not hidden under it.
    base = Path("/run") / f"opencode-ws-{uuid.uuid4().hex[:12]}"
    project = base / "proj"
    project.mkdir(parents=True)
    try:
        (project / "here.txt").write_text("still here\n")
        for network in (False, True):
            result = await run_bash(project, "cat here.txt", SandboxConfig(network=network))
            assert result.output == "still here\n[exit code 0]", result.output
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_unix_sockets_key_is_read_checked_and_not_for_untrusted_projects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from opencode.sessions.config import ConfigError

    (tmp_path / "opencode.toml").write_text("[sandbox]\nnetwork = true\nunix_sockets = true\n")
    assert load_config(tmp_path).sandbox.unix_sockets
    (tmp_path / "opencode.toml").write_text('[sandbox]\nunix_sockets = "yes"\n')
    with pytest.raises(ConfigError, match=r"opencode.toml:2: key sandbox.unix_sockets: expected"):
        load_config(tmp_path)
    # A cloned project cannot widen its own sandbox (conftest trusts tmp projects: undo that).
    monkeypatch.delenv(trust.ENV_TRUST, raising=False)
    (tmp_path / "opencode.toml").write_text("[sandbox]\nunix_sockets = true\n")
    config = load_config(tmp_path)
    assert config.trust is not None and not config.trust.trusted
    assert not config.sandbox.unix_sockets
    assert "ignored [sandbox] unix_sockets = true" in capsys.readouterr().err
