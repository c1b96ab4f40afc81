"""A site-packages target with a real venv: offline pip install of the source, the CLI check,
a failing verification that rolls the installed code back byte for byte, and a process killed
mid-sync (SIGKILL at a known step) followed by `target restore` from a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from opencode.commands.registry import CommandContext
from tests.sync.conftest import call, commit, tree_hashes, write

CLI_V2 = """\
import sys


def main() -> None:
    if "--help" in sys.argv:
        print("usage: tinypkg v2 [--help]")
        return
    print("tinypkg 2")
"""


def site_packages(python: str) -> Path:
    out = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def script_output(python: str) -> str:
    """What the installed console script prints (proves which version is really there)."""
    out = subprocess.run(
        [str(Path(python).parent / "tinypkg")], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.fixture
def clean_venv(venv_python: str) -> str:
    """The shared venv without tinypkg, whatever an earlier test installed."""
    subprocess.run(
        [venv_python, "-m", "pip", "uninstall", "-y", "-q", "tinypkg"],
        capture_output=True,
        check=False,
    )
    return venv_python


def installed(python: str) -> dict[str, str]:
    """Hashes of tinypkg's files in the venv (package, dist-info, console script)."""
    site = site_packages(python)
    roots = [p for p in site.iterdir() if p.name.startswith("tinypkg")]
    found = tree_hashes(*roots)
    script = Path(python).parent / "tinypkg"
    if script.is_file():
        found[str(script)] = hashlib.sha256(script.read_bytes()).hexdigest()
    return found


async def test_site_packages_sync_and_code_rollback(
    ctx: CommandContext, source_repo: Path, target_dir: Path, clean_venv: str
) -> None:
    added = await call(
        ctx,
        "target",
        "add",
        "web",
        "--path",
        str(target_dir),
        "--type",
        "site-packages",
        "--python",
        clean_venv,
        "--test-command",
        'python -c "import tinypkg.cli"',
    )
    assert added.exit_code == 0, added.text
    first = await call(ctx, "sync", "run", "web")
    assert first.exit_code == 0, first.text
    checks = {c["name"]: c for c in first.data["verification"]["checks"]}
    assert checks["tinypkg --help"]["status"] == "passed"
    assert "usage: tinypkg [--help]" in checks["tinypkg --help"]["output"]
    assert checks["tinypkg installed"]["output"].strip() == "1.0"
    assert checks["target tests"]["status"] == "passed"
    v1 = installed(clean_venv)
    assert any(p.endswith("tinypkg/cli.py") for p in v1)
    assert str(Path(clean_venv).parent / "tinypkg") in v1

    # v2 adds a module and breaks the target's tests: the sync must put v1 back exactly
    write(source_repo / "src/tinypkg/cli.py", CLI_V2)
    write(source_repo / "src/tinypkg/extra.py", "NEW = True\n")
    write(
        source_repo / "pyproject.toml",
        (source_repo / "pyproject.toml").read_text().replace('"1.0"', '"2.0"'),
    )
    commit(source_repo, "v2")
    await call(ctx, "target", "update", "web", "--status", "synchronized")
    from opencode.commands.target.repo import TargetRepo

    repo = TargetRepo(ctx.store)
    target = await repo.get("web")
    assert target is not None
    await ctx.store.execute(
        "UPDATE target SET test_command = ? WHERE id = ?",
        ('python -c "import tinypkg.extra; raise SystemExit(4)"', target.id),
    )
    second = await call(ctx, "sync", "run", "web")
    assert second.exit_code == 1
    assert second.data["step"] == "verify"
    v2_checks = {c["name"]: c for c in second.data["verification"]["checks"]}
    assert "tinypkg v2" in v2_checks["tinypkg --help"]["output"]  # v2 was really installed
    assert installed(clean_venv) == v1
    assert not any(p.endswith("extra.py") for p in installed(clean_venv))
    assert script_output(clean_venv) == "tinypkg 1"
    status = (await call(ctx, "target", "list")).data[0]
    assert status["status"] == "failed" and "target tests" in status["status_reason"]


async def test_pip_failure_rolls_back(
    ctx: CommandContext, source_repo: Path, target_dir: Path, clean_venv: str
) -> None:
    await call(
        ctx,
        "target",
        "add",
        "web",
        "--path",
        str(target_dir),
        "--type",
        "site-packages",
        "--python",
        clean_venv,
    )
    assert (await call(ctx, "sync", "run", "web", "--no-verify")).exit_code == 0
    v1 = {**installed(clean_venv), **tree_hashes(target_dir)}
    write(source_repo / "docs/new.md", "# new\n")
    pyproject = source_repo / "pyproject.toml"
    write(pyproject, pyproject.read_text().replace("setuptools.build_meta", "no_such_backend"))
    commit(source_repo, "break the build")
    result = await call(ctx, "sync", "run", "web")
    assert result.exit_code == 1
    assert result.data["step"] == "code"
    assert "pip install failed" in result.data["error"]
    assert "no_such_backend" in result.data["error"]
    assert {**installed(clean_venv), **tree_hashes(target_dir)} == v1
    assert not (target_dir / "opencode/docs/new.md").exists()


def _opencode(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opencode.commands.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_cli_formats_and_exit_codes(source_repo: Path, target_dir: Path) -> None:
    added = _opencode(
        source_repo, "target", "add", "web", "--path", str(target_dir), "--type", "source"
    )
    assert added.returncode == 0, added.stderr
    status = _opencode(source_repo, "sync", "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["targets"][0]["name"] == "web" and data["targets"][0]["behind"] is True
    usage = _opencode(source_repo, "sync", "run", "--bogus")
    assert usage.returncode == 2 and "usage:" in usage.stderr
    missing = _opencode(
        source_repo, "target", "add", "x", "--path", "/nonexistent/x", "--type", "source"
    )
    assert missing.returncode == 1 and "/nonexistent/x does not exist" in missing.stderr
    slash = _opencode(source_repo, "run", "/sync status")
    assert slash.returncode == 0, slash.stderr
    assert "web" in slash.stdout


def test_crash_mid_sync_then_restore(source_repo: Path, target_dir: Path, clean_venv: str) -> None:
    """Kill `opencode sync run` after it installed the new code and copied the docs, then
    `target restore` must give back every file byte for byte."""
    first = _opencode(
        source_repo,
        "target",
        "add",
        "web",
        "--path",
        str(target_dir),
        "--type",
        "site-packages",
        "--python",
        clean_venv,
    )
    assert first.returncode == 0, first.stderr
    synced = _opencode(source_repo, "sync", "run", "web", "--no-verify")
    assert synced.returncode == 0, synced.stderr
    write(target_dir / "opencode/docs/guide.md", "# the target's local edit\n")

    write(source_repo / "src/tinypkg/cli.py", CLI_V2)
    write(source_repo / "src/tinypkg/extra.py", "NEW = True\n")
    write(source_repo / "docs/new.md", "# New doc\n")
    commit(source_repo, "v2")
    before = {**tree_hashes(target_dir), **installed(clean_venv)}

    proc = subprocess.Popen(
        [sys.executable, "-m", "opencode.commands.cli", "sync", "run", "--target", "web"],
        cwd=source_repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OPENCODE_TEST_PAUSE_AFTER": "docs"},
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if "paused after docs" in line:
            break
    assert any("paused after docs" in s for s in seen), "".join(seen)
    # the sync really changed things before it died
    assert (target_dir / "opencode/docs/new.md").exists()
    assert any(p.endswith("extra.py") for p in installed(clean_venv))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    status = _opencode(source_repo, "sync", "status", "--format", "json")
    entry = json.loads(status.stdout)["targets"][0]
    assert entry["status"] == "failed"
    interrupted = entry["interrupted_run"]
    assert interrupted["step"] == "docs"
    refused = _opencode(source_repo, "sync", "run", "web")
    assert refused.returncode == 1 and "interrupted" in refused.stderr
    backups = _opencode(source_repo, "target", "backups", "web", "--format", "json")
    latest = json.loads(backups.stdout)[0]
    assert latest["reason"] == "sync" and latest["complete"] is True
    assert latest["id"] == interrupted["backup_id"]
    restored = _opencode(
        source_repo, "target", "restore", "web", "--backup", str(latest["id"]), "--format", "json"
    )
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["verified"] is True
    after = {**tree_hashes(target_dir), **installed(clean_venv)}
    assert after == before
    assert script_output(clean_venv) == "tinypkg 1"
    again = json.loads(_opencode(source_repo, "sync", "status", "--format", "json").stdout)
    assert again["targets"][0]["interrupted_run"] is None


async def test_source_target_gets_an_editable_install(
    ctx: CommandContext, source_repo: Path, target_dir: Path, clean_venv: str
) -> None:
    added = await call(
        ctx,
        "target",
        "add",
        "dev",
        "--path",
        str(target_dir),
        "--type",
        "source",
        "--python",
        clean_venv,
    )
    assert added.exit_code == 0, added.text
    result = await call(ctx, "sync", "run", "dev", "--tests", "core")
    assert result.exit_code == 0, result.text
    assert script_output(clean_venv) == "tinypkg 1"
    # editable: the source's working tree is what runs, without another sync
    write(source_repo / "src/tinypkg/cli.py", CLI_V2)
    assert script_output(clean_venv) == "tinypkg 2"
    rolled = await call(ctx, "sync", "rollback", "dev", "--component", "code")
    assert rolled.exit_code == 0, rolled.text
    assert rolled.data["removed"] > 0  # the editable install was not there before the sync
    assert not (Path(clean_venv).parent / "tinypkg").exists()
