"""Fixtures for the tool tests: a real temp project, a ToolContext that records changes, and
for the sandbox tests a working bwrap and a sandboxed bash call."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from opencode.sessions.config import SandboxConfig
from opencode.sessions.tools.base import ToolContext, ToolResult


@dataclass
class Recorder:
    changes: list[tuple[Path, bytes | None, bytes | None]] = field(default_factory=list)

    async def __call__(self, path: Path, before: bytes | None) -> None:
        # Also note what is on disk at that moment: it must still be the before-image.
        on_disk = path.read_bytes() if path.exists() else None
        self.changes.append((path, before, on_disk))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    return root


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def ctx(project: Path, recorder: Recorder) -> ToolContext:
    return ToolContext(cwd=project, session_id="ses_test", call_id="call_1", record_change=recorder)


@pytest.fixture
def require_bwrap() -> None:
    """FAILS where bwrap cannot sandbox: CI installs it, so a skip would hide a missing
    sandbox."""
    from opencode.sessions.tools.sandbox import bwrap_works

    if not bwrap_works():
        pytest.fail(
            "bwrap is missing or cannot create namespaces here: the bash sandbox is off. "
            "Install it (apt-get install bubblewrap; .ci/run does) and rerun."
        )


async def run_bash(project: Path, command: str, config: SandboxConfig) -> ToolResult:
    """``command`` through the bash tool under sandbox ``config`` (changes are not recorded)."""
    from opencode.sessions.tools.registry import execute
    from opencode.sessions.tools.shell import BashTool

    ctx = ToolContext(cwd=project, session_id="ses_t", call_id="c", record_change=_no_record)
    return await execute(BashTool(sandbox=config), {"command": command, "timeout": 30}, ctx)


async def _no_record(path: Path, before: bytes | None) -> None:
    return None
