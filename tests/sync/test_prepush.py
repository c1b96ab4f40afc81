"""The pre-push check: `sync prepush` fails while a target is behind, `sync install-hook` writes
a git pre-push hook that a real `git push` runs (with its documented bypasses), and the seed's
`config diff|sync` names. Real git repos (a bare remote), a real hook, a real opencode process."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

from opencode.commands.registry import CommandContext
from tests.sync.conftest import call, commit, git, write


async def _push(
    repo: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        ["git", "-C", str(repo), "push", *extra, "origin", "main"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


async def test_prepush_hook_blocks_push_while_a_target_is_behind(
    ctx: CommandContext, source_repo: Path, target_dir: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(source_repo, "remote", "add", "origin", str(remote))
    added = await call(ctx, "target", "add", "web", "--path", str(target_dir), "--type", "source")
    assert added.exit_code == 0
    assert (await call(ctx, "sync", "run", "web", "--no-verify")).exit_code == 0
    ok = await call(ctx, "sync", "prepush")
    assert ok.exit_code == 0 and ok.data["behind"] == []

    installed = await call(ctx, "sync", "install-hook")
    assert installed.exit_code == 0, installed.text
    hook = Path(installed.data["path"])
    assert os.access(hook, os.X_OK) and "--no-verify" in hook.read_text()

    pushed = await _push(source_repo)
    assert pushed.returncode == 0, pushed.stderr  # current: the push goes through

    write(source_repo / "docs/api.md", "# API v2\n")
    commit(source_repo, "api v2")
    behind = await call(ctx, "sync", "prepush")
    assert behind.exit_code == 1
    assert behind.data["behind"][0]["target"] == "web"
    assert "web: needs_sync" in behind.text and "--no-verify" in behind.text

    refused = await _push(source_repo)
    assert refused.returncode != 0
    assert "web: needs_sync" in refused.stdout + refused.stderr
    assert git(remote, "rev-parse", "main") != git(source_repo, "rev-parse", "HEAD")

    skipped = await _push(source_repo, env={"OPENCODE_SKIP_PREPUSH": "1"})
    assert skipped.returncode == 0, skipped.stderr
    write(source_repo / "docs/api.md", "# API v3\n")
    commit(source_repo, "api v3")
    no_verify = await _push(source_repo, "--no-verify")
    assert no_verify.returncode == 0, no_verify.stderr


async def test_install_hook_keeps_a_foreign_hook_unless_forced(
    ctx: CommandContext, source_repo: Path
) -> None:
    hook = source_repo / ".git/hooks/pre-push"
    write(hook, "#!/bin/sh\necho mine\n")
    refused = await call(ctx, "sync", "install-hook")
    assert refused.exit_code == 2 and "--force" in refused.text
    assert hook.read_text() == "#!/bin/sh\necho mine\n"
    forced = await call(ctx, "sync", "install-hook", "--force")
    assert forced.exit_code == 0
    assert (source_repo / ".git/hooks/pre-push.bak").read_text() == "#!/bin/sh\necho mine\n"
    again = await call(ctx, "sync", "install-hook")  # ours: replaced without --force
    assert again.exit_code == 0 and again.data["replaced"] is None


async def test_config_diff_and_sync_names(
    ctx: CommandContext, source_repo: Path, target_dir: Path
) -> None:
    added = await call(ctx, "target", "add", "web", "--path", str(target_dir), "--type", "source")
    assert added.exit_code == 0
    before = (target_dir / "opencode.toml").read_text()
    diff = await call(ctx, "config", "diff", "web")
    assert diff.exit_code == 0 and "+[provider.vllm2]" in diff.data["diff"]
    assert (target_dir / "opencode.toml").read_text() == before  # diff writes nothing
    synced = await call(ctx, "config", "sync", "web")
    assert synced.exit_code == 0, synced.text
    assert "[provider.vllm2]" in (target_dir / "opencode.toml").read_text()
