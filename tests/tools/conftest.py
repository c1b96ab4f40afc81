"""Fixtures for the tool tests: a real temp project and a ToolContext that records changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from opencode.sessions.tools.base import ToolContext


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
