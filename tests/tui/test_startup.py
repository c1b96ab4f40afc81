"""The first frame comes before work it does not need: markdown rendering (markdown-it) is
imported at the first render, and slash completion (every command module) loads after the
first frame, then works as before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.tui_app import make_test_app
from tests.tui.conftest import wait_for


def test_the_chat_screen_imports_no_markdown_parser() -> None:
    code = (
        "import sys\n"
        "import opencode.tui.app, opencode.tui.screens.chat\n"
        "print(sorted(m for m in ('markdown_it', 'rich.markdown') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


async def test_slash_completion_arrives_after_the_first_frame(tmp_path: Path) -> None:
    app = await make_test_app(tmp_path, open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        prompt = app.chat.prompt
        await wait_for(pilot, lambda: any(name == "/help" for name, _ in prompt.entries))
        assert any(name.startswith("/sync") for name, _ in prompt.entries)
