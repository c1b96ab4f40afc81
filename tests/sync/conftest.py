"""Fixtures for target sync: a real git source project (a tiny setuptools package with docs,
plans, RAG and an opencode.toml), real target folders, a real venv, and an open Store."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from opencode.commands.registry import REGISTRY, CommandContext, CommandResult, run_command
from opencode.sessions.config import load_config
from opencode.sessions.store.db import Store

SOURCE_TOML = """\
# source project config
model = "openai/gpt-4o-mini"
data_dir = "/somewhere/source-only"
log_level = "debug"
max_steps = 30

[provider.openai]
api = "openai"
base_url = "https://api.openai.com/v1"

[provider.vllm2]
api = "openai"
base_url = "http://127.0.0.1:9000/v1"

[tools]
read = "on"
grep = "on"
"""

TARGET_TOML = """\
# target's own config: these comments must survive a sync
model = "ollama/llama3"   # the target's model stays

[provider.openai]
api = "openai"
base_url = "https://proxy.example/v1"   # the target's proxy stays

[tools]
read = "off"
"""

CLI_V1 = """\
import sys


def main() -> None:
    if "--help" in sys.argv:
        print("usage: tinypkg [--help]")
        return
    print("tinypkg 1")
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def tree_hashes(*roots: Path) -> dict[str, str]:
    """sha256 of every file under the roots (what a byte-identical restore must give back)."""
    found: dict[str, str] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for name in filenames:
                path = Path(dirpath) / name
                if path.is_file() and not path.is_symlink():
                    found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{key}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{key}_EMAIL", "test@example.invalid")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture
def source_repo(tmp_path: Path, git_identity: None) -> Path:
    repo = tmp_path / "source"
    write(
        repo / "pyproject.toml",
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "tinypkg"\nversion = "1.0"\n\n'
        '[project.scripts]\ntinypkg = "tinypkg.cli:main"\n\n'
        '[tool.setuptools.packages.find]\nwhere = ["src"]\n',
    )
    write(repo / "src/tinypkg/__init__.py", '"""tiny"""\n')
    write(repo / "src/tinypkg/cli.py", CLI_V1)
    write(repo / "README.md", "# Source\n\nSee [the guide](docs/guide.md).\n")
    write(
        repo / "docs/guide.md", "# Guide\n\nRead the [API](api.md) and [plan](../plans/plan.md).\n"
    )
    write(repo / "docs/api.md", "# API\n\n[back](guide.md#top)\n")
    write(repo / "plans/plan.md", "# Plan\n\n- step one\n")
    write(repo / "RAG/troubleshooting/errors.md", "# Errors\n\n[guide](../../docs/guide.md)\n")
    write(repo / "opencode.toml", SOURCE_TOML)
    write(repo / ".gitignore", "*.egg-info/\nbuild/\n__pycache__/\n")
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "initial")
    return repo


@pytest.fixture
def target_dir(tmp_path: Path) -> Path:
    target = tmp_path / "web"
    write(target / "app.py", "print('web app')\n")
    write(target / "opencode.toml", TARGET_TOML)
    return target


@pytest.fixture
async def ctx(source_repo: Path) -> AsyncIterator[CommandContext]:
    config = load_config(source_repo)
    store = await Store.open(config.db_path)
    lines: list[str] = []
    context = CommandContext(store=store, config=config, cwd=source_repo, progress=lines.append)
    try:
        yield context
    finally:
        await store.close()


async def call(ctx: CommandContext, *words: str) -> CommandResult:
    command, values = REGISTRY.parse(list(words))
    return await run_command(ctx, command, values)


@pytest.fixture(scope="session")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real venv for the session, able to build setuptools packages offline.

    Python 3.11's ensurepip gives setuptools 65, which has no bdist_wheel; the `wheel`
    package comes from pip's configured index (a local file index on this machine)."""
    root = tmp_path_factory.mktemp("venv")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import wheel"], capture_output=True, check=False)
    if probe.returncode != 0:
        proc = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "wheel"],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if proc.returncode != 0:
            pytest.skip(f"cannot install `wheel` into a fresh venv offline: {proc.stderr[-300:]}")
    yield str(python)
