"""Streaming throughput: `opencode run` against curl on the same loopback stream (figures only).

A loopback server (``tests/support/stream_server.py``, in its own process so it does not share
a GIL with anything measured) sends an OpenAI-style reply of about 20 MB as about 327k small
SSE events, one flushed HTTP chunk per line, unthrottled. Measured on that same stream, each a
fresh process under GNU time:

- ``curl -sN URL > /dev/null``: how fast the bytes can be read at all;
- ``opencode run --format text > /dev/null`` and ``--format json > /dev/null``: wall time, and
  peak RSS minus the peak of the same command on a one-event reply (goal: <= 1.3x curl's wall
  time, growth <= 60 MB).

``--code DIR`` runs another checkout's code (e.g. ``git archive ecb7a7a | tar -x -C /tmp/base``)
for before/after figures. Run from the repository root:
``python bench/stream_throughput.py [--events N] [--runs N] [--code DIR]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

# The bench's projects are throwaway folders with their own opencode.toml (providers that
# point at its loopback servers): trust them, as a user would trust their own project.
os.environ.setdefault("OPENCODE_TRUST_PROJECT", "1")

ROOT = Path(__file__).resolve().parent.parent

SERVER = r"""
import json, sys, threading
sys.path.insert(0, sys.argv[1])
from tests.support.stream_server import Reply, StreamServer
events, piece_len = int(sys.argv[2]), int(sys.argv[3])
words = "lorem ipsum dolor sit amet, consectetur adipiscing elit\nsed do eiusmod tempor "
out = []
for i in range(events):
    start = (i * piece_len) % len(words)
    piece = (words * 2)[start : start + piece_len]
    out.append("data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": piece}}]},
               separators=(",", ":")) + "\n\n")
out.append('data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n')
out.append("data: [DONE]\n\n")
body = "".join(out).encode()
del out
with StreamServer([Reply(body=body)]) as server:
    print(server.url, len(body), flush=True)
    sys.stdin.read()
"""


def start_server(events: int, piece_len: int) -> tuple[subprocess.Popen[str], str, int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(ROOT), str(events), str(piece_len)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url, size = proc.stdout.readline().split()
    return proc, url, int(size)


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, int, float]:
    """(wall seconds, peak RSS bytes, exit code, CPU seconds) of one run, by GNU time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%e %M %U %S", "-o", out.name, *cmd],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        last = out.read().strip().splitlines()[-1].split()
    if proc.returncode != 0:
        print(f"  ! {' '.join(cmd[-4:])} exited {proc.returncode}: {proc.stderr[-400:]!r}")
    return float(last[0]), int(last[1]) * 1024, proc.returncode, float(last[2]) + float(last[3])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=327_680, help="SSE events in the reply")
    parser.add_argument("--piece", type=int, default=12, help="characters of text per event")
    parser.add_argument("--runs", type=int, default=1, help="repetitions (median is printed)")
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose code runs")
    opts = parser.parse_args()
    code = opts.code.resolve()
    big, big_url, size = start_server(opts.events, opts.piece)
    tiny, tiny_url, _ = start_server(1, opts.piece)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            env = {
                **os.environ,
                "OPENCODE_DATA_DIR": str(work / "data"),
                "XDG_CONFIG_HOME": str(work / "xdg"),
                "PYTHONPATH": str(code),
            }
            env.pop("OPENCODE_CONFIG", None)
            load = os.getloadavg()[0]
            print(
                f"reply: {size / 1e6:.1f} MB, {opts.events} SSE events of {opts.piece} chars; "
                f"code: {code}; load average {load:.1f} on {os.cpu_count()} CPUs (wall times "
                "on a busy machine wait for a CPU: compare the CPU seconds)"
            )

            def configure(url: str) -> None:
                (work / "opencode.toml").write_text(
                    f'model = "bench/m"\n[provider.bench]\napi = "openai"\n'
                    f'base_url = "{url}/v1"\ntimeout = 120\n'
                )

            curl = ["curl", "-sN", big_url + "/v1/chat/completions"]
            curl_runs = [timed(curl, work, env) for _ in range(opts.runs)]
            base = statistics.median(r[0] for r in curl_runs)
            print(
                f"curl -sN > /dev/null: {base:.2f} s "
                f"(CPU {statistics.median(r[3] for r in curl_runs):.2f} s)"
            )
            for fmt in ("text", "json"):
                cmd = [sys.executable, "-m", "opencode.commands.cli", "run", "--format", fmt, "hi"]
                configure(tiny_url)
                baseline = timed(cmd, work, env)[1]
                configure(big_url)
                runs = [timed(cmd, work, env) for _ in range(opts.runs)]
                wall = statistics.median(r[0] for r in runs)
                cpu = statistics.median(r[3] for r in runs)
                peak = max(r[1] for r in runs)
                print(
                    f"opencode run --format {fmt} > /dev/null: {wall:.2f} s = "
                    f"{wall / base:.2f}x curl (goal <= 1.3x), CPU {cpu:.2f} s; "
                    f"peak RSS {peak / 1e6:.0f} MB, "
                    f"growth {(peak - baseline) / 1e6:.0f} MB over a one-event reply "
                    f"(goal <= 60 MB); exit {runs[-1][2]}"
                )
    finally:
        for proc in (big, tiny):
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
