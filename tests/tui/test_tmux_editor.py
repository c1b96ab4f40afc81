"""Ctrl+G in a real terminal: ``opencode`` inside tmux hands the prompt's text to ``$EDITOR``
(here a script that appends a line), through ``App.suspend``, and takes the result back."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest

from tests.tui import test_tmux
from tests.tui.test_tmux import Tmux

tmux = test_tmux.tmux  # the fixture: a tmux session with a clean shell

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def test_ctrl_g_edits_the_prompt_in_editor(tmux: Tmux, project: Path, tmp_path: Path) -> None:
    from tests.tui.conftest import write_config

    editor = tmp_path / "append-editor"
    editor.write_text('#!/bin/sh\nprintf "%s\\n" "LINE FROM THE EDITOR" >> "$1"\n')
    editor.chmod(0o755)
    config = write_config(project, "http://127.0.0.1:9")
    tmux.start_opencode(project, tmp_path, config, EDITOR=str(editor))
    tmux.wait_for("Ask anything")
    tmux.send("-l", "typed before the editor")
    tmux.wait_for("typed before the editor")
    tmux.send("C-g")
    screen = tmux.wait_for("LINE FROM THE EDITOR")
    lines = [line.strip(" ▌▊▎│┃") for line in screen.splitlines()]
    assert lines.index("LINE FROM THE EDITOR") == lines.index("typed before the editor") + 1
    assert tmux.run("display", "-p", "-t", tmux.name, "#{alternate_on}").strip() == "1"
    tmux.send("C-q")
    tmux.wait_for("OPENCODE_EXIT=0")


def launch(term: Tmux, project: Path, tmp_path: Path, editor: str) -> None:
    from tests.tui.conftest import write_config

    config = write_config(project, "http://127.0.0.1:9")
    term.start_opencode(project, tmp_path, config, EDITOR=editor)
    term.wait_for("Ask anything")


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def test_an_editor_path_with_spaces_is_run_as_one_program(
    tmux: Tmux, project: Path, tmp_path: Path
) -> None:
    """``EDITOR=/opt/My Editor/ed it``, unquoted, as macOS app paths are: it is one program."""
    editor = script(tmp_path / "My Editor" / "ed it", 'printf "%s\\n" "FROM SPACED" >> "$1"')
    launch(tmux, project, tmp_path, str(editor))
    tmux.send("-l", "draft")
    tmux.send("C-g")
    tmux.wait_for("FROM SPACED")
    tmux.send("C-q")
    tmux.wait_for("OPENCODE_EXIT=0")


def test_an_editor_that_fails_or_removes_the_file_keeps_the_draft(
    tmux: Tmux, project: Path, tmp_path: Path
) -> None:
    # The first run exits 1; the second removes the file it was given and exits 0.
    marker = shlex.quote(str(tmp_path / "ran-once"))
    editor = script(
        tmp_path / "bin" / "bad-editor",
        f'if [ -e {marker} ]; then rm "$1"; exit 0; fi\n: > {marker}; exit 1',
    )
    launch(tmux, project, tmp_path, str(editor))
    tmux.send("-l", "keep this draft")
    tmux.wait_for("keep this draft")  # typed and drawn before Ctrl+G hands the terminal over
    tmux.send("C-g")
    tmux.wait_for("exited with 1")
    tmux.send("C-g")
    tmux.wait_for("cannot be read back")
    screen = tmux.wait_for("keep this draft")
    assert "OPENCODE_EXIT" not in screen  # the app is still running
    tmux.send("C-q")
    tmux.wait_for("OPENCODE_EXIT=0")


def test_an_editor_named_with_brackets_is_reported_as_text(
    tmux: Tmux, project: Path, tmp_path: Path
) -> None:
    """Ctrl+G's messages quote $EDITOR: ``[/x]`` in it is text, not markup (drawing the toast
    raised MarkupError and the app exited)."""
    launch(tmux, project, tmp_path, "no-such-[/x]-editor")
    tmux.send("-l", "keep me")
    tmux.send("C-g")
    screen = tmux.wait_for("no-such-[/x]-editor")
    assert "OPENCODE_EXIT" not in screen and "keep me" in screen
    tmux.send("C-q")
    tmux.wait_for("OPENCODE_EXIT=0")
