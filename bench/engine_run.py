"""Engine benchmarks for `opencode run` (prints figures; never pass/fail).

1. `opencode run --help` wall time (goal <= 150 ms), beside `python -c pass`.
2. Time to first token of `opencode run` vs a bare httpx client, both as fresh processes
   against the same loopback server streaming the same recorded reply (goal: ratio <= 1.05).
   Measured with no server think time and with 300 ms (a real model's first-token latency).
3. Peak RSS while streaming a 20 MB reply through `run --format text > /dev/null`, minus the
   peak of a tiny reply (goal: <= 3x the text).

Run from the repository root: `python bench/engine_run.py [--quick]`.
"""

from __future__ import annotations

import argparse
import json
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

from tests.support.stream_server import Reply, StreamServer  # noqa: E402

BARE_CLIENT = r"""
import sys, json, httpx
url = sys.argv[1]
body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=30) as r:
    for line in r.iter_lines():
        if line.startswith("data: ") and line != "data: [DONE]":
            delta = json.loads(line[6:])["choices"]
            if delta and delta[0]["delta"].get("content"):
                sys.stdout.write(delta[0]["delta"]["content"]); sys.stdout.flush()
"""


def sse_text(pieces: list[str], usage: bool = True) -> bytes:
    out = []
    for piece in pieces:
        chunk = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        out.append(f"data: {json.dumps(chunk)}\n\n")
    out.append('data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n')
    if usage:
        out.append('data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9}}\n\n')
    out.append("data: [DONE]\n\n")
    return "".join(out).encode()


def time_first_byte(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    first = proc.stdout.read(1)
    elapsed = time.perf_counter() - started
    proc.stdout.read()
    proc.wait()
    if not first:
        raise RuntimeError(f"no output from {cmd}")
    return elapsed


def bench_help(runs: int) -> None:
    opencode = [sys.executable, "-m", "opencode.commands.cli", "run", "--help"]
    script = Path(sys.executable).with_name("opencode")
    if script.exists():
        opencode = [str(script), "run", "--help"]
    times, base = [], []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(opencode, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        base.append(time.perf_counter() - started)
    print(
        f"run --help: median {statistics.median(times) * 1000:.0f} ms, min "
        f"{min(times) * 1000:.0f} ms (python -c pass: {statistics.median(base) * 1000:.0f} ms); "
        f"goal <= 150 ms"
    )


def bench_ttft(runs: int, think: float, work: Path, env: dict[str, str]) -> None:
    body = sse_text(["Hello", " from", " the", " server"] * 20)
    replies = [Reply(body=body, first_byte_delay=think) for _ in range(2 * runs + 2)]
    with StreamServer(replies) as server:
        (work / "opencode.toml").write_text(
            f'model = "bench/m"\n[provider.bench]\napi = "openai"\nbase_url = "{server.url}/v1"\n'
        )
        ours, bare = [], []
        time_first_byte(
            [sys.executable, "-m", "opencode.commands.cli", "run", "hi"], work, env
        )  # warm
        for _ in range(runs):
            ours.append(
                time_first_byte(
                    [sys.executable, "-m", "opencode.commands.cli", "run", "hi"], work, env
                )
            )
            bare.append(time_first_byte([sys.executable, "-c", BARE_CLIENT, server.url], work, env))
    o, b = statistics.median(ours), statistics.median(bare)
    print(
        f"TTFT (server think {think * 1000:.0f} ms): opencode run {o * 1000:.0f} ms, bare httpx "
        f"{b * 1000:.0f} ms, ratio {o / b:.3f} (goal <= 1.05)"
    )


def child_peak_rss(cmd: list[str], cwd: Path, env: dict[str, str]) -> int:
    """Peak RSS in bytes of one run of ``cmd``, measured by GNU time in its own small process
    (a child forked straight from this script would count this script's buffers too)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as out:
        subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", out.name, *cmd],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            check=True,
        )
        return int(out.read().strip().splitlines()[-1]) * 1024


def bench_rss(work: Path, env: dict[str, str], megabytes: int) -> None:
    piece = "lorem ipsum dolor sit amet, consectetur adipiscing elit; " * 2  # 114 chars
    count = megabytes * 1_000_000 // len(piece)
    big = sse_text([piece] * count)
    small = sse_text(["tiny"])
    with StreamServer([Reply(body=small), Reply(body=big, chunk_size=65536)]) as server:
        (work / "opencode.toml").write_text(
            f'model = "bench/m"\n[provider.bench]\napi = "openai"\nbase_url = "{server.url}/v1"\n'
        )
        cmd = [sys.executable, "-m", "opencode.commands.cli", "run", "--format", "text", "hi"]
        baseline = child_peak_rss(cmd, work, env)
        started = time.perf_counter()
        peak = child_peak_rss(cmd, work, env)
        elapsed = time.perf_counter() - started
    text = count * len(piece)
    grown = peak - baseline
    print(
        f"20 MB reply: text {text / 1e6:.1f} MB in {elapsed:.1f} s; "
        f"peak RSS {peak / 1e6:.1f} MB, "
        f"baseline {baseline / 1e6:.1f} MB, growth {grown / 1e6:.1f} MB = "
        f"{grown / text:.2f}x the text (goal <= 3x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    opts = parser.parse_args()
    runs = 5 if opts.quick else 15
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {
            **os.environ,
            "OPENCODE_DATA_DIR": str(work / "data"),
            "XDG_CONFIG_HOME": str(work / "xdg"),
            "PYTHONPATH": str(ROOT),
        }
        env.pop("OPENCODE_CONFIG", None)
        bench_help(runs)
        bench_ttft(runs, 0.0, work, env)
        bench_ttft(runs, 0.3, work, env)
        bench_rss(work, env, 20)


if __name__ == "__main__":
    main()
