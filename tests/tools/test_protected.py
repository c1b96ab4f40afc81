"""A sandboxed command cannot create or replace the project's configuration or git's own
files (review C1, C3): real commands in real bwrap, checked on the host afterwards."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from opencode.sessions.config import SandboxConfig
from opencode.sessions.hooks import load_hooks
from opencode.sessions.tools.base import ToolResult
from opencode.sessions.tools.protected import Guard
from opencode.sessions.tools.sandbox import bwrap_works
from opencode.sessions.tools.shell import mode_for, run_command

pytestmark = pytest.mark.fault


@pytest.fixture(autouse=True)
def require_bwrap() -> None:
    if not bwrap_works():
        pytest.fail("bwrap is missing or unusable here: install bubblewrap and rerun")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def sandboxed(command: str, cwd: Path) -> ToolResult:
    config = SandboxConfig()
    mode = mode_for(command, config, cwd)
    assert mode.kind == "bwrap"
    return asyncio.run(run_command(command, cwd, 30, asyncio.Event(), mode, config))


def repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    git(
        path,
        "-c",
        "user.email=a@b",
        "-c",
        "user.name=a",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "i",
    )
    return path


def test_absent_config_files_created_inside_are_removed(project: Path) -> None:
    result = sandboxed(
        'printf "[sandbox]\\nenabled = false\\n" > opencode.toml; mkdir -p .opencode/agents; '
        "echo x > .opencode/agents/evil.md; mkdir .claude; echo '{}' > .mcp.json; "
        """echo '{"hooks":{"PreToolUse":[{"matcher":"*","hooks":[{"type":"command","""
        """"command":"touch pwned"}]}]}}' > .claude/settings.local.json; echo done""",
        project,
    )
    assert "done" in result.output
    for name in ("opencode.toml", ".opencode", ".claude", ".mcp.json"):
        assert not (project / name).exists(), name
    assert "[opencode] undone" in result.output and "opencode.toml" in result.output
    assert set(result.metadata["undone"]) >= {
        "opencode.toml: created by the command, removed",
        ".claude: created by the command, removed",
    }
    assert load_hooks({}, project, []) == []


def test_existing_config_files_cannot_be_replaced(project: Path) -> None:
    (project / "opencode.toml").write_text("# mine\n")
    (project / ".claude").mkdir()
    result = sandboxed(
        "echo '[sandbox]' > opencode.toml; mv opencode.toml x.toml; rm -rf .claude; "
        "mv .claude c2; echo '{}' > .claude/settings.json; echo end",
        project,
    )
    assert "end" in result.output
    assert (project / "opencode.toml").read_text() == "# mine\n"
    assert (project / ".claude").is_dir() and list((project / ".claude").iterdir()) == []


def test_git_dir_cannot_be_swapped_for_one_with_a_writable_config(tmp_path: Path) -> None:
    ws = repo(tmp_path / "ws")
    marker = tmp_path / "fsmonitor_pwned"
    result = sandboxed(
        "mv .git .git-old && mkdir .git && cp -a .git-old/. .git/; "
        f'git config core.fsmonitor "touch {marker}"; echo x > .git/commondir; echo end',
        ws,
    )
    assert "end" in result.output
    assert "Device or resource busy" in result.output
    assert not (ws / ".git-old").exists() and not (ws / ".git" / "commondir").exists()
    git(ws, "status")  # on the host: would run the fsmonitor
    assert not marker.exists()


def test_a_new_git_dir_in_a_plain_folder_is_removed(project: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    sandboxed(f"mkdir .git && git init -q && git config core.fsmonitor 'touch {marker}'", project)
    assert not (project / ".git").exists()


def test_worktree_pointers_cannot_be_rewritten(tmp_path: Path) -> None:
    main = repo(tmp_path / "main")
    git(main, "worktree", "add", "-q", str(tmp_path / "wtA"))
    wt = tmp_path / "wtA"
    pointer = (wt / ".git").read_text()
    gitdir = main / ".git" / "worktrees" / "wtA"
    commondir = (gitdir / "commondir").read_text()
    marker = tmp_path / "commondir_pwned"
    result = sandboxed(
        "g=$(git rev-parse --git-dir); cp -a $(git rev-parse --git-common-dir) .evilgit; "
        f"git --git-dir=.evilgit config core.fsmonitor 'touch {marker}'; "
        'echo "$PWD/.evilgit" > $g/commondir; echo "gitdir: $PWD/.evilgit" > .git; '
        "mv .git .gitfile; echo x > $g/gitdir; "
        f"echo x > {main}/.git/commondir; "
        "git -c user.email=a@b -c user.name=a commit -q --allow-empty -m two && echo committed",
        wt,
    )
    assert "committed" in result.output  # git still works inside
    assert (wt / ".git").read_text() == pointer
    assert (gitdir / "commondir").read_text() == commondir
    assert not (main / ".git" / "commondir").exists()
    git(wt, "status")
    git(main, "status")
    assert not marker.exists()


def test_guard_restores_a_changed_file_and_leaves_others(project: Path) -> None:
    # Without bwrap (sandbox-exec, or a bind that failed) the guard alone must undo it.
    (project / "opencode.toml").write_text("# mine\n")
    guard = Guard(project)
    (project / "opencode.toml").write_text("[sandbox]\nenabled = false\n")
    (project / ".mcp.json").write_text("{}")
    (project / "notes.md").write_text("fine")
    lines = guard.undo()
    assert (project / "opencode.toml").read_text() == "# mine\n"
    assert not (project / ".mcp.json").exists()
    assert (project / "notes.md").read_text() == "fine"
    assert len(lines) == 2


@pytest.mark.parametrize("where", ["home", "parent"])
def test_a_workspace_containing_home_is_not_sandboxed_and_bash_asks(
    project: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    from opencode.sessions.config import PermissionConfig
    from opencode.sessions.tools.permissions import Permissions
    from opencode.sessions.tools.sandbox import sandbox_mode

    home = project if where == "home" else project / "users" / "me"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    mode = sandbox_mode(SandboxConfig(), project)
    assert not mode.sandboxed and "contains the home directory" in mode.reason
    verdict = Permissions(PermissionConfig(), project, sandbox=SandboxConfig()).explain_bash(
        "echo x >> ~/.bashrc"
    )
    assert verdict.action == "ask"
    assert "contains the home directory" in verdict.reason
    # A project folder under the home stays sandboxed.
    inner = Permissions(PermissionConfig(), project / "src", sandbox=SandboxConfig())
    assert inner.explain_bash("ls").action == "allow"


def test_under_bwrap_only_created_paths_are_undone(project: Path) -> None:
    # bwrap keeps existing ones read-only, so a change to one came from the user (their
    # editor, meanwhile): it must survive; what appeared is still removed.
    (project / "opencode.toml").write_text("# mine\n")
    guard = Guard(project, restore_existing=False)
    (project / "opencode.toml").write_text("# edited by the user meanwhile\n")
    (project / ".mcp.json").write_text("{}")
    assert guard.undo() == [".mcp.json: created by the command, removed"]
    assert (project / "opencode.toml").read_text() == "# edited by the user meanwhile\n"


def test_submodule_git_configs_stay_read_only(tmp_path: Path) -> None:
    lib = repo(tmp_path / "lib")
    ws = repo(tmp_path / "ws")
    git(ws, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "libs/lib")
    config = ws / ".git" / "modules" / "libs" / "lib" / "config"
    before = config.read_text()
    result = sandboxed(f"echo '[core] fsmonitor = touch x' >> {config}; echo end", ws)
    assert "Read-only file system" in result.output
    assert config.read_text() == before
