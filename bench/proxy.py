"""`opencode proxy` overhead against calling the upstream directly (prints figures; never
pass/fail). Direct and proxied requests alternate in one run against the same loopback upstream.

1. Added time to first token: no rules, and with one correction rule (plus its hold window).
   Goal: <= 5 ms on loopback with no rules.
2. Throughput on a large streamed reply (default 10 MB of content): goal >= 0.9x direct.
3. Peak RSS of the proxy process while 50 streams run at once.

Run from the repository root: `python bench/proxy.py [--mb 10] [--runs 20]`.
LiteLLM's proxy, measured the same way here (the issue's anchor): +32 ms TTFT, 0.01x
throughput on a 1 MB reply, 465 MB RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

# The bench's projects are throwaway folders with their own opencode.toml (providers that
# point at its loopback servers): trust them, as a user would trust their own project.
os.environ.setdefault("OPENCODE_TRUST_PROJECT", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.proxy.conftest import Proxy, start_proxy, write_project  # noqa: E402
from tests.support.stream_server import Reply, StreamServer  # noqa: E402


def sse_body(pieces: list[str]) -> bytes:
    chunks = [{"choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    out = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    return out + b"data: [DONE]\n\n"


def request_body(stream: bool = True) -> dict[str, object]:
    return {
        "model": "mock/test-model",
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
    }


# One client for the whole run: httpx.stream() would build a client (and its TLS context) per
# call, tens of milliseconds that are neither the proxy's nor the upstream's.
CLIENT = httpx.Client(timeout=300)


def first_token_ms(url: str, model_prefix: str) -> float:
    body = request_body()
    body["model"] = model_prefix + "test-model"
    started = time.perf_counter()
    with CLIENT.stream("POST", url + "/chat/completions", json=body) as reply:
        for line in reply.iter_lines():
            if '"content": "' in line or '"content":"' in line:
                if '"content": ""' not in line and '"content":""' not in line:
                    return (time.perf_counter() - started) * 1000
    raise RuntimeError("no content came back")


def read_all_s(url: str, model_prefix: str) -> tuple[float, int]:
    body = request_body()
    body["model"] = model_prefix + "test-model"
    total = 0
    started = time.perf_counter()
    with CLIENT.stream("POST", url + "/chat/completions", json=body) as reply:
        for line in reply.iter_lines():
            if line.startswith("data: {"):
                for choice in json.loads(line[6:]).get("choices", []):
                    total += len(choice["delta"].get("content") or "")
    return time.perf_counter() - started, total


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def parallel(url: str, streams: int) -> int:
    async def one(client: httpx.AsyncClient) -> int:
        got = 0
        async with client.stream("POST", url + "/v1/chat/completions", json=request_body()) as r:
            async for chunk in r.aiter_bytes():
                got += len(chunk)
        return got

    limits = httpx.Limits(max_connections=streams)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        return sum(await asyncio.gather(*(one(client) for _ in range(streams))))


def ttft(server: StreamServer, proxy: Proxy, runs: int, label: str) -> None:
    direct, proxied = [], []
    for _ in range(runs):  # alternated, so load changes hit both alike
        direct.append(first_token_ms(server.url + "/v1", ""))
        proxied.append(first_token_ms(proxy.url + "/v1", "mock/"))
    added = [p - d for p, d in zip(proxied, direct, strict=True)]
    print(
        f"  {label:26} direct p50 {statistics.median(direct):6.2f} ms   proxy p50 "
        f"{statistics.median(proxied):6.2f} ms   added p50 {statistics.median(added):5.2f} ms"
        f"  p95 {sorted(added)[int(len(added) * 0.95) - 1]:5.2f} ms"
    )


def patch(project: Path, *words: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "opencode", "patch", *words],
        cwd=project,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"opencode patch {' '.join(words)} failed: {done.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=10.0, help="size of the big reply")
    parser.add_argument("--runs", type=int, default=20, help="TTFT samples per side")
    parser.add_argument("--streams", type=int, default=50)
    opts = parser.parse_args()

    small = Reply(
        sse_body([f"w{i} " for i in range(50)]), headers={"content-type": "text/event-stream"}
    )
    piece = "x" * 60 + " "
    count = int(opts.mb * 1024 * 1024 / len(piece))
    big = Reply(
        sse_body([piece] * count), headers={"content-type": "text/event-stream"}, chunk_size=65536
    )
    with tempfile.TemporaryDirectory() as tmp, StreamServer([small]) as server:
        # The bench's own data and config dirs: never the user's database.
        os.environ["OPENCODE_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
        project = Path(tmp) / "proj"
        write_project(project, server.url)
        proxy = start_proxy(project)
        try:
            print(f"time to first token, {opts.runs} alternated samples each:")
            ttft(server, proxy, opts.runs, "no rules")
            patch(project, "add", "w7 ", "w-seven ")
            ttft(server, proxy, opts.runs, "one rule (3-char window)")
            patch(project, "remove", "1")

            server.add(big)  # from now on every request gets the big reply
            print(f"throughput, {opts.mb:.0f} MB of content, alternated x3:")
            rates = []
            for _ in range(3):
                d_s, d_n = read_all_s(server.url + "/v1", "")
                p_s, p_n = read_all_s(proxy.url + "/v1", "mock/")
                assert d_n == p_n, (d_n, p_n)
                rates.append((d_s, p_s))
                print(
                    f"  direct {d_s:6.2f} s   proxy {p_s:6.2f} s   proxy/direct throughput "
                    f"{d_s / p_s:5.2f}x"
                )
            best = max(d / p for d, p in rates)
            print(f"  best ratio {best:.2f}x (goal >= 0.9x)")

            server.add(small)
            before = vm_hwm_mb(proxy.process.pid)
            started = time.perf_counter()
            got = asyncio.run(parallel(proxy.url, opts.streams))
            took = time.perf_counter() - started
            print(
                f"{opts.streams} parallel streams: {got} bytes in {took:.2f} s; proxy peak RSS "
                f"{vm_hwm_mb(proxy.process.pid):.1f} MB (was {before:.1f} MB before)"
            )
        finally:
            proxy.stop()


if __name__ == "__main__":
    main()
