"""The real terminal: ``/clear`` (or ``/new``) then ``/sync checklist`` at once, over and over;
each result must be on screen without a resize (it was reported invisible in 5 of 22 tries).

This loop never reproduced the fault on this machine, before or after its fixes (see
``test_command_output_layout.py`` for the interleavings that did, driven in Pilot); it stays
as the real-terminal check of the reported sequence."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui import test_tmux
from tests.tui.test_tmux import Tmux

tmux = test_tmux.tmux  # the fixture: a tmux session with a clean shell

pytestmark = [pytest.mark.tmux]
TRIES = 12


def _shows_result(screen: str, marker: str) -> bool:
    """The block of this try (its command line, ``marker``) with its result under it."""
    lines = [line.strip(" ▌▁▂▃▄▅▆▇█") + "\n" for line in screen.splitlines()]
    head = next((i for i, line in enumerate(lines) if line.endswith(marker)), None)
    return head is not None and any(
        "Sync checklist for demo" in line for line in lines[head + 1 : head + 4]
    )


def _git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "T",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "T",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short path: the result's last line names the file written, and must not wrap."""
    path = Path(tempfile.mkdtemp(prefix="oc", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_slash_output_right_after_clear_is_always_visible(
    tmux: Tmux, tmp_path: Path, short_dir: Path
) -> None:
    project, target = short_dir / "proj", tmp_path / "web"
    (project / "docs").mkdir(parents=True)
    target.mkdir()
    (target / "app.py").write_text("print('web')\n")
    for n in range(20):
        (project / "docs" / f"d{n}.md").write_text(f"# doc {n}\n")
    config = project / "opencode.toml"
    config.write_text(
        f'model = "mock/test-model"\ndata_dir = "{tmp_path / "data"}"\n'
        '[provider.mock]\napi = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'api_key = "sk-test"\nmodels = ["test-model"]\n',
        encoding="utf-8",
    )
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "init")
    env = {
        "OPENCODE_CONFIG": str(config),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    added = subprocess.run(
        [
            sys.executable,
            "-m",
            "opencode",
            "target",
            "add",
            "demo",
            "--path",
            str(target),
            "--type",
            "source",
        ],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    tmux.send(
        f"cd {shlex.quote(str(project))} && {exports} {shlex.quote(sys.executable)} -m opencode",
        "Enter",
    )
    tmux.wait_for("Ask anything", limit=30)
    invisible = []
    for n in range(TRIES):
        first = "/new" if n % 2 else "/clear"
        # One write: the two lines arrive together, as fast typing or a paste sends them.
        tmux.send("-l", f"{first}\r/sync checklist demo -o out{n}.md\r")
        # The result is taller than the pane: it opens at its first lines (the command line
        # and the result's heading, drawn only once its height was measured again).
        marker = f"-o out{n}.md\n"
        deadline = time.monotonic() + 15
        while not _shows_result(tmux.screen(), marker):
            if time.monotonic() > deadline:
                invisible.append((n, first, tmux.screen()))
                break
            time.sleep(0.05)
    tmux.send("C-q")
    assert not invisible, invisible[0]
