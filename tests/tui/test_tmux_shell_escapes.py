"""A ``!`` command that prints terminal escapes, in a real terminal: expanding its result sets
no window title (OSC 0/2), clears nothing (``\\e[2J``, ``\\e[H``), and the chat stays drawn."""

from __future__ import annotations

import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui.test_tmux import Tmux
from tests.tui.test_tmux_editor import pytestmark as tmux_marks

pytestmark = tmux_marks

PRINTF = (
    r"!printf 'A\033]0;PWNED\007B\033]52;c;aGVsbG8=\007C\033[2J\033[HD\033[31mRED\033[0m"
    r"\033]2;PWN2\033\\E\n'"
)


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Tmux]:
    name = f"oc-esc-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", "80", "-y", "24"]
        + ["env", "-i", f"HOME={tmp_path}", "TERM=xterm-256color", "PS1=$ "]
        + ["bash", "--norc", "--noprofile"],
        check=True,
        timeout=10,
    )
    try:
        yield Tmux(name)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, timeout=10)


def test_escapes_printed_by_a_command_do_not_reach_the_terminal(
    term: Tmux, project: Path, tmp_path: Path
) -> None:
    from tests.tui.conftest import write_config

    config = write_config(project, "http://127.0.0.1:9")
    env = {
        "OPENCODE_CONFIG": str(config),
        "OPENCODE_DATA_DIR": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    term.send(
        f"cd {shlex.quote(str(project))} && {exports} "
        f"{shlex.quote(sys.executable)} -m opencode; echo OPENCODE_EXIT=$?",
        "Enter",
    )
    term.wait_for("Ask anything")
    title = term.run("display", "-p", "-t", term.name, "#{pane_title}")
    term.send("-l", PRINTF)
    term.send("Enter")
    term.wait_for("✓ bash  printf")  # finished: its block no longer changes under the keys
    term.send("BTab")  # focus the call, then expand it
    term.send("Enter")
    screen = term.wait_for("ABCDREDE")
    assert "[exit code 0]" in screen
    assert "Ask anything" in screen  # nothing cleared or moved the screen under the app
    assert term.run("display", "-p", "-t", term.name, "#{pane_title}") == title
    term.send("C-q")
    term.wait_for("OPENCODE_EXIT=0")
