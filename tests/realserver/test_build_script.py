"""Fast tests of the llama-server build script: a cached build is a no-op, and every failing
step fails loudly (non-zero exit, the step, the command and its output), never silently."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.realserver import build_llama_server as build

SCRIPT = Path(build.__file__)


def fake_cache_entry(root: Path, version: str) -> Path:
    entry = root / "llama-server" / version
    entry.mkdir(parents=True)
    binary = entry / "llama-server"
    binary.write_text("#!/bin/sh\necho fake\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    (entry / "tool-template.jinja").write_text("{{ messages }}")
    return binary


def test_a_cached_build_is_returned_without_building(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENCODE_TEST_CACHE", str(tmp_path))
    binary = fake_cache_entry(tmp_path, "9.9.9")
    # PATH without cmake or pip: any attempt to build would fail.
    env = dict(os.environ, OPENCODE_TEST_CACHE=str(tmp_path), PATH="/nonexistent")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "9.9.9"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(binary)
    assert "building" not in proc.stderr
    found = build.ensure_llama_server("9.9.9")
    assert found.binary == binary and found.tool_template.name == "tool-template.jinja"


def test_an_incomplete_cache_entry_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENCODE_TEST_CACHE", str(tmp_path))
    binary = fake_cache_entry(tmp_path, "9.9.8")
    (binary.parent / "tool-template.jinja").unlink()
    assert build._cached(binary.parent) is None


def test_a_failing_step_raises_with_its_output(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    with pytest.raises(build.BuildError) as info:
        build._run("compile", ["sh", "-c", "echo 'error: boom in ggml.c'; exit 3"], log)
    message = str(info.value)
    assert "compile failed with exit code 3" in message
    assert "error: boom in ggml.c" in message
    assert str(log) in message


def test_a_missing_tool_names_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(build.BuildError) as info:
        build._run("configure", ["cmake-that-does-not-exist", "-S", "."], tmp_path / "log")
    assert "cmake-that-does-not-exist" in str(info.value)
    assert "apt-get install cmake" in str(info.value)


def test_the_script_exits_non_zero_on_failure(tmp_path: Path) -> None:
    # pip may not look at any index and the version does not exist, so the first step
    # fails; the script must say which step and command, and exit 1.
    env = dict(
        os.environ,
        OPENCODE_TEST_CACHE=str(tmp_path),
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(tmp_path),
    )
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "0.0.0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "error: download sdist failed" in proc.stderr
    assert "llama-cpp-python==0.0.0" in proc.stderr
