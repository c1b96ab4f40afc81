"""Ctrl+G in a real terminal: ``opencode`` inside tmux hands the prompt's text to ``$EDITOR``
(here a script that appends a line), through ``App.suspend``, and takes the result back."""

from __future__ import annotations

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
