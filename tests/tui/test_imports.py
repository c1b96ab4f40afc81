"""Start-up stays light: importing the app imports Textual but no screen, widget or engine
module until the app needs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_tui_app_is_lazy() -> None:
    code = (
        "import sys, opencode.tui.app\n"
        "lazy = ['opencode.tui.screens.chat', 'opencode.tui.widgets.transcript',"
        " 'opencode.tui.panels.base', 'opencode.tui.commands', 'opencode.tui.replay',"
        " 'opencode.sessions.runner', 'opencode.sessions.store.db', 'opencode.commands.registry']\n"
        "print(','.join(m for m in lazy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
