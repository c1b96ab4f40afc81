"""The real terminal: ``opencode`` inside tmux, driven with send-keys and read with capture-pane.

Types a prompt and sees the streamed answer from a loopback provider, runs /help, quits with
Ctrl+Q, and checks the shell gets its terminal back (alternate screen off, exit code 0).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stream_server import StreamServer
from tests.tui.conftest import sse_reply, write_config

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


class Tmux:
    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", *args], check=True, capture_output=True, text=True, timeout=10
        ).stdout

    def send(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.name, *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name)

    def wait_for(self, text: str, limit: float = 20.0) -> str:
        deadline = time.monotonic() + limit
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not on screen after {limit}s:\n{screen}")
            time.sleep(0.1)

    def start_opencode(self, project: Path, tmp_path: Path, config: Path, **env: str) -> None:
        """Run ``opencode`` in ``project`` with ``config``, a data dir and config home under
        ``tmp_path``, this checkout on the path, and ``env`` besides; its exit code is echoed
        (``OPENCODE_EXIT=N``) when it ends."""
        env = {
            "OPENCODE_CONFIG": str(config),
            "OPENCODE_DATA_DIR": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
            "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            **env,
        }
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        command = (
            f"cd {shlex.quote(str(project))} && {exports} "
            f"{shlex.quote(sys.executable)} -m opencode; echo OPENCODE_EXIT=$?"
        )
        self.send(command, "Enter")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    name = f"oc-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "110",
            "-y",
            "32",
            "env",
            "-i",
            f"HOME={tmp_path}",
            "TERM=xterm-256color",
            "PS1=$ ",
            "bash",
            "--norc",
            "--noprofile",
        ],
        check=True,
        timeout=10,
    )
    try:
        yield Tmux(name)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, timeout=10)


def test_opencode_in_a_real_terminal(tmux: Tmux, project: Path, tmp_path: Path) -> None:
    with StreamServer([sse_reply("openai_text.sse")]) as server:
        tmux.start_opencode(project, tmp_path, write_config(project, server.url))
        tmux.wait_for("Ask anything")
        assert tmux.run("display", "-p", "-t", tmux.name, "#{alternate_on}").strip() == "1"

        tmux.send("-l", "Say hello")
        tmux.send("C-j")  # a newline in the prompt, not a send
        tmux.send("-l", "second line")
        screen = tmux.wait_for("second line")
        assert "How can I help" not in screen
        tmux.send("Enter")
        screen = tmux.wait_for("How can I help you today?")
        lines = [line.strip(" ▌") for line in screen.splitlines()]
        assert lines.index("second line") == lines.index("Say hello") + 1
        tmux.wait_for("ready")

        tmux.send("-l", "/help")
        tmux.send("Enter")
        # The listing is taller than the pane: it opens at its top, the chat's commands in
        # view (the view used to follow its end: only /workflow … and the keys were seen).
        screen = tmux.wait_for("start a new session")
        assert "/help" in screen and "Chat" in screen and "Esc cancels a turn" not in screen

        tmux.send("C-q")
        screen = tmux.wait_for("OPENCODE_EXIT=0")
        assert tmux.run("display", "-p", "-t", tmux.name, "#{alternate_on}").strip() == "0"
        # The shell is usable again: it echoes what we type.
        tmux.send("-l", "echo back-at-the-shell")
        tmux.send("Enter")
        tmux.wait_for("\nback-at-the-shell\n")
    assert len(server.requests) == 1
