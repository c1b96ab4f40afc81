"""`opencode permission explain` as a real subprocess against a real config file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine.helpers import opencode

RULES = '[permission.bash]\n"*" = "ask"\n"ls*" = "allow"\n"rm*" = "deny"\n'


def test_explain_bash_lists_each_part(tmp_path: Path) -> None:
    (tmp_path / "opencode.toml").write_text(RULES)
    run = opencode(tmp_path, "permission", "explain", "bash", "ls >../x && command rm -f f")
    assert run.code == 0, run.stderr
    assert "DENY" in run.stdout and "'rm*'" in run.stdout
    assert "does not cover paths outside the workspace: >../x" in run.stdout
    assert "sandboxed with bwrap" in run.stdout


def test_explain_json_and_yes(tmp_path: Path) -> None:
    (tmp_path / "opencode.toml").write_text(RULES)
    run = opencode(tmp_path, "permission", "explain", "--yes", "bash", "make", "--format", "json")
    assert run.code == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["decision"] == "allow" and data["reason"] == "--yes"
    assert data["parts"] == [
        {"command": "make", "decision": "ask", "reason": "[permission.bash] '*'"}
    ]
    denied = opencode(
        tmp_path, "permission", "explain", "--yes", "bash", "/bin/rm", "x", "--format", "json"
    )
    assert json.loads(denied.stdout)["decision"] == "deny"


def test_explain_other_tools_and_unknown_tool(tmp_path: Path) -> None:
    (tmp_path / "opencode.toml").write_text(RULES)
    run = opencode(tmp_path, "permission", "explain", "read", ".env")
    assert run.code == 0 and "ASK" in run.stdout
    bad = opencode(tmp_path, "permission", "explain", "nosuch", "x")
    assert bad.code == 1 and "no tool named 'nosuch'" in bad.stderr
