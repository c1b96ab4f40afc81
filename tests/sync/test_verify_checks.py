"""The seed's verification list beyond files: the agent's basic tools run for real inside the
target (and leave nothing behind), with real files, a real shell and a real target folder."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import textual

import opencode
from opencode.commands.registry import CommandContext
from opencode.sessions.config import load_config
from opencode.sessions.store.db import Store
from tests.sync.conftest import call


async def test_basic_tools_run_inside_the_target(
    ctx: CommandContext, source_repo: Path, target_dir: Path
) -> None:
    added = await call(ctx, "target", "add", "web", "--path", str(target_dir), "--type", "source")
    assert added.exit_code == 0
    before = sorted(p.name for p in target_dir.iterdir())
    result = await call(ctx, "sync", "verify", "web", "--tests", "integration")
    checks = {c["name"]: c for c in result.data["checks"]}
    tools = checks["basic tools"]
    assert tools["status"] == "passed", tools["output"]
    assert [line.split(":")[0] for line in tools["output"].splitlines()] == [
        "write",
        "read",
        "bash",
    ]
    assert sorted(p.name for p in target_dir.iterdir()) == before  # temp folder removed


def _venv(tmp_path: Path, name: str) -> Path:
    venv = tmp_path / name
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    return venv / "bin" / "python"


def _opencode_venv(tmp_path: Path) -> str:
    """A real venv whose site-packages sees this checkout and the project's dependencies
    (a .pth file), as if opencode were installed there."""
    python = _venv(tmp_path, "ocvenv")
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    ours = Path(opencode.__file__).absolute().parent.parent
    deps = Path(textual.__file__).parent.parent
    Path(site, "opencode-checkout.pth").write_text(f"{ours}\n{deps}\n")
    return str(python)


def test_tui_starts_headless_with_the_target_python(
    source_repo: Path, target_dir: Path, tmp_path: Path
) -> None:
    python = _opencode_venv(tmp_path)
    bare = str(_venv(tmp_path, "bare"))  # a Python without opencode

    async def go() -> tuple[dict[str, Any], dict[str, Any]]:
        config = load_config(source_repo)
        store = await Store.open(config.db_path)
        ctx = CommandContext(store=store, config=config, cwd=source_repo, progress=print)
        try:
            added = await call(
                ctx, "target", "add", "oc", "--path", str(target_dir), "--type",
                "site-packages", "--python", python,
            )  # fmt: skip
            assert added.exit_code == 0, added.text
            plain = await call(
                ctx, "target", "add", "plain", "--path", str(target_dir), "--type",
                "site-packages", "--python", bare,
            )  # fmt: skip
            assert plain.exit_code == 0, plain.text
            a = await call(ctx, "sync", "verify", "oc", "--tests", "core")
            b = await call(ctx, "sync", "verify", "plain", "--tests", "core")
            return a.data, b.data
        finally:
            await store.close()

    with_tui, without = asyncio.run(go())
    check = {c["name"]: c for c in with_tui["checks"]}["tui starts"]
    assert check["status"] == "passed", check["output"]
    assert "tui started:" in check["output"]
    skipped = {c["name"]: c for c in without["checks"]}["tui starts"]
    assert skipped["status"] == "skipped" and "no opencode.tui" in skipped["output"]
