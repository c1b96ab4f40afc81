"""Ctrl+G in a real terminal: ``opencode`` inside tmux hands the prompt's text to ``$EDITOR``
(here a script that appends a line), through ``App.suspend``, and takes the result back."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui.test_tmux import Tmux

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Tmux]:
    name = f"oc-ed-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", "110", "-y", "32"]
        + ["env", "-i", f"HOME={tmp_path}", "TERM=xterm-256color", "PS1=$ "]
        + ["bash", "--norc", "--noprofile"],
        check=True,
        timeout=10,
    )
    try:
        yield Tmux(name)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, timeout=10)


def test_ctrl_g_edits_the_prompt_in_editor(term: Tmux, project: Path, tmp_path: Path) -> None:
    from tests.tui.conftest import write_config

    editor = tmp_path / "append-editor"
    editor.write_text('#!/bin/sh\nprintf "%s\\n" "LINE FROM THE EDITOR" >> "$1"\n')
    editor.chmod(0o755)
    config = write_config(project, "http://127.0.0.1:9")
    env = {
        "OPENCODE_CONFIG": str(config),
        "OPENCODE_DATA_DIR": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "EDITOR": str(editor),
    }
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    term.send(
        f"cd {shlex.quote(str(project))} && {exports} "
        f"{shlex.quote(sys.executable)} -m opencode; echo OPENCODE_EXIT=$?",
        "Enter",
    )
    term.wait_for("Ask anything")
    term.send("-l", "typed before the editor")
    term.wait_for("typed before the editor")
    term.send("C-g")
    screen = term.wait_for("LINE FROM THE EDITOR")
    lines = [line.strip(" ▌▊▎│┃") for line in screen.splitlines()]
    assert lines.index("LINE FROM THE EDITOR") == lines.index("typed before the editor") + 1
    assert term.run("display", "-p", "-t", term.name, "#{alternate_on}").strip() == "1"
    term.send("C-q")
    term.wait_for("OPENCODE_EXIT=0")


def launch(term: Tmux, project: Path, tmp_path: Path, editor: str) -> None:
    from tests.tui.conftest import write_config

    config = write_config(project, "http://127.0.0.1:9")
    env = {
        "OPENCODE_CONFIG": str(config),
        "OPENCODE_DATA_DIR": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "EDITOR": editor,
    }
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    term.send(
        f"cd {shlex.quote(str(project))} && {exports} "
        f"{shlex.quote(sys.executable)} -m opencode; echo OPENCODE_EXIT=$?",
        "Enter",
    )
    term.wait_for("Ask anything")


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def test_an_editor_path_with_spaces_is_run_as_one_program(
    term: Tmux, project: Path, tmp_path: Path
) -> None:
    """``EDITOR=/opt/My Editor/ed it``, unquoted, as macOS app paths are: it is one program."""
    editor = script(tmp_path / "My Editor" / "ed it", 'printf "%s\\n" "FROM SPACED" >> "$1"')
    launch(term, project, tmp_path, str(editor))
    term.send("-l", "draft")
    term.send("C-g")
    term.wait_for("FROM SPACED")
    term.send("C-q")
    term.wait_for("OPENCODE_EXIT=0")


def test_an_editor_that_fails_or_removes_the_file_keeps_the_draft(
    term: Tmux, project: Path, tmp_path: Path
) -> None:
    # The first run exits 1; the second removes the file it was given and exits 0.
    marker = shlex.quote(str(tmp_path / "ran-once"))
    editor = script(
        tmp_path / "bin" / "bad-editor",
        f'if [ -e {marker} ]; then rm "$1"; exit 0; fi\n: > {marker}; exit 1',
    )
    launch(term, project, tmp_path, str(editor))
    term.send("-l", "keep this draft")
    term.send("C-g")
    term.wait_for("exited with 1")
    term.send("C-g")
    term.wait_for("cannot be read back")
    screen = term.wait_for("keep this draft")
    assert "OPENCODE_EXIT" not in screen  # the app is still running
    term.send("C-q")
    term.wait_for("OPENCODE_EXIT=0")


def test_an_editor_named_with_brackets_is_reported_as_text(
    term: Tmux, project: Path, tmp_path: Path
) -> None:
    """Ctrl+G's messages quote $EDITOR: ``[/x]`` in it is text, not markup (drawing the toast
    raised MarkupError and the app exited)."""
    launch(term, project, tmp_path, "no-such-[/x]-editor")
    term.send("-l", "keep me")
    term.send("C-g")
    screen = term.wait_for("no-such-[/x]-editor")
    assert "OPENCODE_EXIT" not in screen and "keep me" in screen
    term.send("C-q")
    term.wait_for("OPENCODE_EXIT=0")
