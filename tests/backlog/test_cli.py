"""The backlog commands through the real ``opencode`` entry point, in subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import SEED


def _opencode(cwd: Path, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opencode.commands.cli", *words],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_import_list_show_in_json_and_exit_codes(tmp_path: Path) -> None:
    done = _opencode(tmp_path, "backlog", "import", str(SEED), "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["created"], data["updated"]) == (26, 0)
    assert data["problems"][0]["line"] == 1 and data["problems"][0]["severity"] == "warning"

    listed = _opencode(tmp_path, "backlog", "list", "--status", "ready", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)
    assert [i["key"] for i in items] == ["Task-013", "Task-012", "Task-006"]
    assert set(items[0]) >= {
        "id", "key", "title", "one_liner", "priority", "effort", "risk", "status",
        "blockers", "files", "criteria", "evidence", "notes",
    }  # fmt: skip
    assert items[0]["criteria"][0] == {
        "text": "Replace buffered text processing with streaming line readers",
        "done": False,
    }

    missing = _opencode(tmp_path, "backlog", "show", "Task-999")
    assert missing.returncode == 1
    assert "no backlog item 'Task-999'" in missing.stderr

    bad = _opencode(tmp_path, "backlog", "list", "--status", "finished")
    assert bad.returncode == 2
    assert "invalid choice" in bad.stderr


def test_commands_module_stays_cheap_to_import() -> None:
    code = (
        "import sys, opencode.commands.backlog.cmds; "
        "print(sorted(m for m in sys.modules if m.startswith(("
        "'opencode.commands.backlog', 'aiosqlite', 'textual', 'opencode.sessions.store'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.replace("'", '"')) == [
        "opencode.commands.backlog",
        "opencode.commands.backlog.cmds",
    ]
