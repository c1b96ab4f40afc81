"""``opencode config explain``, ``opencode init`` and ``opencode hooks list|test`` as a user
runs them: real subprocesses in a real git project with real config and instruction files."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from opencode.sessions.instructions import load_instructions
from tests.engine.helpers import opencode


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src" / "app").mkdir(parents=True)
    (root / "tests").mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for name in ("src/app/main.py", "src/app/util.py", "tests/test_x.py", "web.ts"):
        (root / name).write_text("x\n")
    (root / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = '-q'\n")
    (root / "Makefile").write_text("all:\n\ttrue\ntest:\n\tpytest\n")
    return root


def test_config_explain_shows_layers_key_origins_instructions_and_rule_origins(
    repo: Path,
) -> None:
    global_dir = Path(os.environ["XDG_CONFIG_HOME"]) / "opencode"
    global_dir.mkdir(parents=True)
    (global_dir / "opencode.toml").write_text('model = "openai/gpt-4o-mini"\nmax_steps = 7\n')
    (global_dir / "AGENTS.md").write_text("global rules\n")
    (repo / "opencode.toml").write_text(
        '\nmax_steps = 9\n[provider.openai]\napi_key = "sk-live-SECRET-99"\n\n'
        '[permission]\nedit = "ask"\n[permission.bash]\n"rm *" = "deny"\n'
        '[[hooks.PreToolUse]]\nmatcher = "bash"\ncommand = "true"\n'
    )
    (repo / "AGENTS.md").write_text("project rules, see @docs.md\n")
    (repo / "docs.md").write_text("docs\n")
    run = opencode(repo, "config", "explain", "--format", "json")
    assert run.code == 0, run.stderr
    data = json.loads(run.stdout)
    assert [layer["layer"] for layer in data["layers"]] == [
        "providers, model, permissions",
        "global",
        "project",
    ]
    keys = {k["key"]: k for k in data["keys"]}
    assert keys["max_steps"]["origin"] == f"{repo / 'opencode.toml'}:2"
    assert keys["model"]["origin"] == f"{global_dir / 'opencode.toml'}:1"
    assert keys["provider.openai.api_key"]["value"] == "(hidden)"
    assert "SECRET" not in run.stdout
    assert [(i["path"], i["bytes"]) for i in data["instructions"]] == [
        (str(global_dir / "AGENTS.md"), 13),
        (str(repo / "AGENTS.md"), 28),
        (str(repo / "docs.md"), 5),
    ]
    rules = {(r["tool"], r["subject"]): r for r in data["permission_rules"]}
    assert rules[("bash", "rm *")]["origin"] == f"{repo / 'opencode.toml'}:9"
    assert rules[("edit", "*")]["origin"] == f"{repo / 'opencode.toml'}:7"
    assert data["hooks"][0]["event"] == "PreToolUse"

    text = opencode(repo, "config", "explain")
    assert text.code == 0 and "instruction files" in text.stdout and "SECRET" not in text.stdout


def test_init_writes_a_starter_and_never_overwrites_without_force(repo: Path) -> None:
    run = opencode(repo, "init")
    assert run.code == 0, run.stderr
    text = (repo / "AGENTS.md").read_text()
    assert "- Python (3 files)" in text and "- TypeScript (1 file)" in text
    assert "`python -m pytest` (from pyproject.toml)" in text and "`make test`" in text
    assert "- `src/`" in text and "- `tests/`" in text
    assert load_instructions(repo).warnings == [], "the starter's own text includes nothing"

    (repo / "AGENTS.md").write_text("mine\n")
    again = opencode(repo, "init")
    assert again.code == 1 and "already exists" in again.stderr and "--force" in again.stderr
    assert (repo / "AGENTS.md").read_text() == "mine\n"
    forced = opencode(repo, "init", "--force")
    assert forced.code == 0 and (repo / "AGENTS.md").read_text().startswith("# AGENTS.md")


def test_hooks_list_and_test(repo: Path) -> None:
    (repo / "opencode.toml").write_text(
        '[[hooks.PreToolUse]]\nmatcher = "bash"\n'
        'command = "grep -q rm && { echo no deletes >&2; exit 2; } || true"\n'
        '[[hooks.PreToolUse]]\nmatcher = "bash"\n'
        'command = "echo \'{\\"updatedInput\\": {\\"command\\": \\"ls -la\\"}}\'"\n'
    )
    listed = opencode(repo, "hooks", "list", "--format", "json")
    assert listed.code == 0, listed.stderr
    assert [h["event"] for h in json.loads(listed.stdout)] == ["PreToolUse", "PreToolUse"]

    blocked = opencode(
        repo,
        "hooks",
        "test",
        "PreToolUse",
        "--tool",
        "bash",
        "--input",
        '{"command": "rm -rf x"}',
        "--format",
        "json",
    )
    data = json.loads(blocked.stdout)
    assert data["decision"] == "block" and data["reason"] == "no deletes"
    rewritten = opencode(
        repo, "hooks", "test", "PreToolUse", "--input", '{"command": "ls"}', "--format", "json"
    )
    assert json.loads(rewritten.stdout)["updated_input"] == {"command": "ls -la"}
    bad = opencode(repo, "hooks", "test", "PreToolUse", "--input", "{nope")
    assert bad.code == 2 and "--input is not JSON" in bad.stderr
