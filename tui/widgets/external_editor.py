"""Ctrl+G: the prompt's text in the user's editor (``$VISUAL``, ``$EDITOR``, else ``vi``).

The app is suspended (``App.suspend``: the terminal back in normal mode) while the editor runs
on a temp file, then the file's text replaces the prompt's. The editor must own the terminal
until it exits, so it runs as a blocking child inside the suspension, which is what suspending
is for; no event needs handling meanwhile. An editor that cannot be found or started, a
non-zero exit, or a terminal that cannot suspend leaves the draft as it was and says why (as
text: the messages quote ``$EDITOR`` and paths, never markup).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.widgets import TextArea


def editor_command() -> tuple[list[str] | None, str]:
    """(the editor's argv, where it came from), or (None, why there is none)."""
    for name in ("VISUAL", "EDITOR"):
        value = os.environ.get(name, "").strip()
        if value and os.path.isfile(value) and os.access(value, os.X_OK):
            # A path with spaces, unquoted (``/Applications/My Editor.app/.../editor``).
            return [value], f"${name}"
        if value:
            try:
                argv = shlex.split(value)
            except ValueError as exc:
                return None, f"${name} ({value!r}) cannot be parsed: {exc}"
            if argv and shutil.which(argv[0]):
                return argv, f"${name}"
            return None, (
                f"${name} is {value!r}, which is not a program on PATH; set $VISUAL or $EDITOR "
                "to an installed editor"
            )
    if shutil.which("vi"):
        return ["vi"], "vi (neither $VISUAL nor $EDITOR is set)"
    return None, "no editor: set $VISUAL or $EDITOR (vi is not installed either)"


def edit_in_editor(prompt: TextArea) -> None:
    from textual.app import SuspendNotSupported

    argv, source = editor_command()
    if argv is None:
        prompt.notify(source, title="Ctrl+G", severity="error", timeout=8, markup=False)
        return
    fd, name = tempfile.mkstemp(prefix="opencode-prompt-", suffix=".md")
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            # A text file ends in a newline (editors and ``>>`` expect one); taken off again.
            fh.write(prompt.text + "\n" if prompt.text else "")
        try:
            with prompt.app.suspend():
                code = subprocess.call([*argv, str(path)])
        except SuspendNotSupported:
            prompt.notify(
                "this terminal cannot hand over to an editor", title="Ctrl+G", severity="error"
            )
            return
        except OSError as exc:
            prompt.notify(
                f"{source}: {exc}", title="Ctrl+G", severity="error", timeout=8, markup=False
            )
            return
        if code != 0:
            prompt.notify(
                # What happened first: a long editor path wraps the toast after it.
                f"the editor exited with {code} ({' '.join(argv)}); the prompt is unchanged",
                title="Ctrl+G",
                severity="warning",
                markup=False,
            )
            return
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:  # the editor removed or replaced the file unreadably
            prompt.notify(
                f"the edited text cannot be read back ({exc.strerror or exc}); the prompt is "
                "unchanged",
                title="Ctrl+G",
                severity="warning",
                markup=False,
            )
            return
        if text.endswith("\n"):
            text = text[:-1]
        prompt.load_text(text)
        prompt.move_cursor(prompt.document.end)
        prompt.focus()
    finally:
        path.unlink(missing_ok=True)
