"""Headless paths never import Textual (a subprocess checks sys.modules)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.helpers import opencode

PROBE = """
import sys
from opencode.commands.cli import main
try:
    code = main({argv!r})
except SystemExit as exc:
    code = exc.code
assert "textual" not in sys.modules, sorted(m for m in sys.modules if m.startswith("textual"))
print("CODE", code)
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--help"],
        ["--version"],
        ["session", "list"],
        ["session", "list", "--format", "json"],
        ["run", "/sessions"],
    ],
)
def test_cli_paths_do_not_import_textual(argv: list[str], tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert "CODE 0" in proc.stdout


def test_help_lists_registered_commands(tmp_path: Path) -> None:
    run = opencode(tmp_path, "--help")
    assert run.code == 0
    assert "session list" in run.stdout and "run [MESSAGE...]" in run.stdout


def test_unknown_command_exits_2(tmp_path: Path) -> None:
    run = opencode(tmp_path, "frobnicate")
    assert run.code == 2
    assert "unknown command 'frobnicate'" in run.stderr


def test_run_without_message_exits_2(tmp_path: Path) -> None:
    run = opencode(tmp_path, "run")
    assert run.code == 2
    assert "no message" in run.stderr


def test_command_help_goes_to_stdout_with_exit_0(tmp_path: Path) -> None:
    run = opencode(tmp_path, "session", "export", "-h")
    assert run.code == 0, run.stderr
    assert "usage:" in run.stdout and "--output" in run.stdout
