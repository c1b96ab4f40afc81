"""MCP start-up figures (prints numbers; never pass/fail).

1. Wall time of `opencode run` (a fresh process, loopback provider, one text reply):
   a. no MCP server configured;
   b. 3 servers configured (mcp-server-time, mcp-server-git, the in-repo fault server) but
      the turn offers no MCP tool (`tools = ["read"]`): nothing starts, the SDK is not imported;
   c. the same 3 servers, the turn offers their tools: they start (in parallel) first.
   Also whether the `mcp` package was imported (python -X importtime).
2. In process: each server's own start time, the sum, and the wall time of starting all
   three together (parallel: total ~ the slowest, not the sum).
3. Tool-schema tokens each server adds to every request (JSON of name + description +
   parameters, 4 characters a token).

Run from the repository root: `python bench/mcp_startup.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The bench's projects are throwaway folders with their own opencode.toml (providers that
# point at its loopback servers): trust them, as a user would trust their own project.
os.environ.setdefault("OPENCODE_TRUST_PROJECT", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.engine.helpers import fixture, write_config  # noqa: E402
from tests.mcp.helpers import fault_argv, spec, time_argv, toml_server  # noqa: E402
from tests.support.stream_server import Reply, StreamServer  # noqa: E402


def _servers(repo: Path) -> list[tuple[str, list[str]]]:
    return [
        ("time", time_argv()),
        ("git", [sys.executable, "-m", "mcp_server_git", "--repository", str(repo)]),
        ("fault", fault_argv()),
    ]


def _run_once(project: Path, env: dict[str, str]) -> tuple[float, bool, str]:
    began = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "opencode.commands.cli", "run", "--yes", "hi"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    imported = any(line.rstrip().endswith("| mcp") for line in proc.stderr.splitlines())
    return wall, imported, proc.stderr


def _scenario(name: str, extra: str, runs: int, base: Path, env: dict[str, str]) -> None:
    walls: list[float] = []
    imported = False
    with StreamServer([Reply(fixture("openai_text.sse"))]) as server:
        project = base / name
        config = write_config(project, "openai", f"http://127.0.0.1:{server.port}", extra)
        if name == "b":
            config.write_text(config.read_text() + 'tools = ["read"]\n')
        for _ in range(runs):
            wall, imported, _ = _run_once(project, env)
            walls.append(wall)
    label = {
        "a": "a. no MCP server configured      ",
        "b": "b. 3 configured, none offered    ",
        "c": "c. 3 configured, tools offered   ",
    }[name]
    print(
        f"{label} median {statistics.median(walls) * 1000:7.0f} ms  "
        f"max {max(walls) * 1000:7.0f} ms  (n={runs})  mcp imported: {imported}"
    )


async def _parallel(repo: Path, base: Path) -> None:
    from opencode.sessions.mcp.manager import McpManager
    from opencode.sessions.mcp.tools import schema_tokens

    specs = [spec(n, argv) for n, argv in _servers(repo)]
    # Each alone, one after the other.
    alone: dict[str, float] = {}
    for s in specs:
        manager = McpManager([s], base, base / "logs", warn=lambda line: None)
        began = time.perf_counter()
        await manager.start()
        alone[s.name] = time.perf_counter() - began
        await manager.aclose()
    manager = McpManager(specs, base, base / "logs", warn=lambda line: None)
    began = time.perf_counter()
    await manager.tools()
    together = time.perf_counter() - began
    for s in specs:
        print(f"   {s.name:<6} alone {alone[s.name] * 1000:6.0f} ms")
    print(
        f"   sum of alone {sum(alone.values()) * 1000:6.0f} ms; all 3 together "
        f"{together * 1000:6.0f} ms; slowest alone {max(alone.values()) * 1000:6.0f} ms"
    )
    print("3. tool-schema tokens added to every request (chars/4):")
    for s in specs:
        tools = manager.tools_of(s.name)
        print(f"   {s.name:<6} {len(tools)} tools, ~{sum(schema_tokens(t) for t in tools)} tokens")
    began = time.perf_counter()
    await manager.aclose()
    print(f"   stopping all 3: {(time.perf_counter() - began) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        repo = base / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "OPENCODE_DATA_DIR": str(base / "data"),
            "XDG_CONFIG_HOME": str(base / "config"),
        }
        env.pop("OPENCODE_CONFIG", None)
        servers = "".join(toml_server(n, argv) for n, argv in _servers(repo))
        print(f"cpus: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f}")
        print("1. `opencode run` wall time, one text reply:")
        _scenario("a", "", opts.runs, base, env)
        _scenario("b", servers, opts.runs, base, env)
        _scenario("c", servers, opts.runs, base, env)
        print("2. server start-up (initialize + tools/list), in process:")
        asyncio.run(_parallel(repo, base))


if __name__ == "__main__":
    main()
