"""A real `opencode proxy` subprocess in front of a loopback upstream that replays recorded
provider bytes; the official SDKs are its clients."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.engine.helpers import CONTENT_TYPE, fixture
from tests.support.stream_server import Reply, StreamServer


def sse(name: str, **kw: object) -> Reply:
    return Reply(body=fixture(name), headers={"content-type": CONTENT_TYPE["sse"]}, **kw)  # type: ignore[arg-type]


@dataclass
class Proxy:
    url: str
    process: subprocess.Popen[str]
    project: Path

    def stderr(self) -> str:
        self.stop()
        assert self.process.stderr is not None
        return self.process.stderr.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def write_project(project: Path, upstream_url: str, extra: str = "") -> None:
    project.mkdir(parents=True, exist_ok=True)
    (project / "opencode.toml").write_text(
        'model = "mock/test-model"\n'
        f"{extra}\n"
        '[provider.mock]\napi = "openai"\n'
        f'base_url = "{upstream_url}/v1"\napi_key = "sk-upstream-SECRET-99"\n'
        'models = ["test-model", "other-model"]\nmax_retries = 0\ntimeout = 10\n',
        encoding="utf-8",
    )


def start_proxy(project: Path, *args: str) -> Proxy:
    process = subprocess.Popen(
        [sys.executable, "-m", "opencode", "proxy", "--port", "0", *args],
        cwd=project,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if "listening on " in line:
                url = line.split("listening on ", 1)[1].split()[0]
                return Proxy(url, process, project)
        if process.poll() is not None:
            break
    process.kill()
    raise AssertionError(
        f"the proxy did not start: {process.stderr.read() if process.stderr else ''}"
    )


@pytest.fixture
def upstream() -> Iterator[StreamServer]:
    with StreamServer() as server:
        yield server


@pytest.fixture
def proxy(tmp_path: Path, upstream: StreamServer) -> Iterator[Proxy]:
    write_project(tmp_path / "proj", upstream.url)
    running = start_proxy(tmp_path / "proj")
    yield running
    running.stop()
