"""Disk full during `opencode run`: what was received is on screen, one clear error names the
file and what to do, exit code 1, and no traceback (the final flush used to raise a second time).

A real full disk: a 700 KB tmpfs mounted for the test (CI runs as root, like this machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stream_server import Reply, StreamServer

pytestmark = pytest.mark.fault


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=700k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"cannot mount a small tmpfs (run as root): {done.stderr}"
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_prints_the_reply_and_one_error(small_disk: Path, tmp_path: Path) -> None:
    pieces = [f"word{i:05d} " * 4 for i in range(20000)]  # 800 KB: more than the disk holds
    body = "".join(
        "data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": p}}]}) + "\n\n"
        for p in pieces
    )
    body += 'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    body += "data: [DONE]\n\n"
    project = tmp_path / "proj"
    project.mkdir()
    with StreamServer([Reply(body.encode(), headers={"content-type": "text/event-stream"})]) as s:
        (project / "opencode.toml").write_text(
            f'model = "mock/m"\n[provider.mock]\napi = "openai"\nbase_url = "{s.url}/v1"\n'
            "max_retries = 0\n"
        )
        run = subprocess.run(
            [sys.executable, "-m", "opencode", "run", "hi"],
            cwd=project,
            env={**os.environ, "OPENCODE_DATA_DIR": str(small_disk / "data")},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 1
    # Everything received was shown as it came (the turn may stop where the disk filled up).
    full = "".join(pieces)
    assert len(run.stdout) > 100_000 and full.startswith(run.stdout.rstrip("\n")), run.stderr
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "disk full" in line]
    assert len(errors) == 1, run.stderr
    assert str(small_disk / "data" / "opencode.db") in errors[0]
