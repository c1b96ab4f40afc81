"""The seed's verification list beyond files: the agent's basic tools run for real inside the
target (and leave nothing behind), with real files, a real shell and a real target folder."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import textual

import opencode
from opencode.commands.registry import CommandContext
from opencode.sessions.config import load_config
from opencode.sessions.store.db import Store
from tests.support.stream_server import Reply, StreamServer
from tests.sync.conftest import call


async def test_basic_tools_run_inside_the_target(
    ctx: CommandContext, source_repo: Path, target_dir: Path
) -> None:
    added = await call(ctx, "target", "add", "web", "--path", str(target_dir), "--type", "source")
    assert added.exit_code == 0
    before = sorted(p.name for p in target_dir.iterdir())
    result = await call(ctx, "sync", "verify", "web", "--tests", "agent")
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


@pytest.fixture
def stream_server() -> Iterator[StreamServer]:
    server = StreamServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


STREAMS = Path(__file__).resolve().parent.parent / "fixtures" / "streams"
KEY = "sk-test-SECRET-9876"


def _provider_toml(target: Path, url: str) -> None:
    (target / "opencode.toml").write_text(
        f'model = "mock/test-model"\n\n[provider.mock]\napi = "openai"\nbase_url = "{url}/v1"\n'
        f'api_key = "{KEY}"\nmax_retries = 0\ntimeout = 10\n',
        encoding="utf-8",
    )


async def test_provider_check_makes_a_real_request(
    ctx: CommandContext, source_repo: Path, target_dir: Path, stream_server: StreamServer
) -> None:
    added = await call(ctx, "target", "add", "web", "--path", str(target_dir), "--type", "source")
    assert added.exit_code == 0
    _provider_toml(target_dir, stream_server.url)
    stream_server.add(Reply(body=(STREAMS / "openai_text.sse").read_bytes()))
    ok = await call(ctx, "sync", "verify", "web", "--tests", "agent")
    check = {c["name"]: c for c in ok.data["checks"]}["provider answers"]
    assert check["status"] == "passed", check["output"]
    assert "mock/test-model" in check["output"] and "answered" in check["output"]
    (request,) = stream_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers.get("authorization") == f"Bearer {KEY}"

    # the provider answers an error: failed, and the key never shows
    stream_server.add(
        Reply(
            body=(STREAMS / "openai_401.json").read_bytes(),
            status=401,
            headers={"content-type": "application/json"},
        )
    )
    bad = await call(ctx, "sync", "verify", "web", "--tests", "agent")
    check = {c["name"]: c for c in bad.data["checks"]}["provider answers"]
    assert check["status"] == "failed" and bad.exit_code == 1
    assert KEY not in check["output"] and "401" in check["output"]


async def test_provider_check_skips_when_unreachable_or_unconfigured(
    ctx: CommandContext, source_repo: Path, target_dir: Path
) -> None:
    added = await call(ctx, "target", "add", "web", "--path", str(target_dir), "--type", "source")
    assert added.exit_code == 0
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _provider_toml(target_dir, f"http://127.0.0.1:{port}")
    result = await call(ctx, "sync", "verify", "web", "--tests", "agent")
    check = {c["name"]: c for c in result.data["checks"]}["provider answers"]
    assert check["status"] == "skipped" and "not reachable" in check["output"], check

    (target_dir / "opencode.toml").write_text('model = "nowhere/x"\n', encoding="utf-8")
    result = await call(ctx, "sync", "verify", "web", "--tests", "agent")
    check = {c["name"]: c for c in result.data["checks"]}["provider answers"]
    assert check["status"] == "skipped" and "no usable provider" in check["output"]
