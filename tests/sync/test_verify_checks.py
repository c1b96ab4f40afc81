"""The seed's verification list beyond files: the agent's basic tools run for real inside the
target (and leave nothing behind), with real files, a real shell and a real target folder."""

from __future__ import annotations

from pathlib import Path

from opencode.commands.registry import CommandContext
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
