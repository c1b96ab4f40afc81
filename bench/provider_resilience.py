"""Provider-resilience benchmarks (prints figures; never pass/fail).

1. Dead primary -> first fallback byte: TTFT through a chain whose first entry is a closed port
   (connection refused), beside the fallback's own TTFT called directly, against the same
   loopback server with 0 and 200 ms of think time. Goal: <= 1.2x the fallback's TTFT plus
   the connect timeout of the dead entry (refused: ~0).
2. Overhead of the resilience path per call (breaker check, model-list check, limiter, audit
   row in a real SQLite file, notices): the chain around an in-process provider that answers
   at once, minus that provider called bare. Goal: < 1 ms.

Run from the repository root: `python bench/provider_resilience.py [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncGenerator
from pathlib import Path

# The bench's projects are throwaway folders with their own opencode.toml (providers that
# point at its loopback servers): trust them, as a user would trust their own project.
os.environ.setdefault("OPENCODE_TRUST_PROJECT", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opencode.sessions.config import load_config  # noqa: E402
from opencode.sessions.events import Finish, ProviderEvent, TextDelta, Usage  # noqa: E402
from opencode.sessions.providers.base import (  # noqa: E402
    ChatMessage,
    ChatRequest,
    Provider,
    ProviderConfig,
)
from opencode.sessions.providers.resilience.hub import LimiterRegistry, ResilienceHub  # noqa: E402
from opencode.sessions.providers.resilience.settings import load_settings  # noqa: E402
from opencode.sessions.store.db import Store  # noqa: E402
from tests.support.stream_server import Reply, StreamServer  # noqa: E402

BODY = (ROOT / "tests" / "fixtures" / "streams" / "openai_text.sse").read_bytes()
REQUEST = ChatRequest(model="m1", messages=[ChatMessage(role="user", content="hi")])


def dead_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def toml(name: str, url: str, extra: str = "") -> str:
    return (
        f'[provider.{name}]\napi = "openai"\nbase_url = "{url}/v1"\napi_key = "sk-bench"\n'
        f"max_retries = 0\ntimeout = 10\n{extra}\n"
    )


async def ttft(hub: ResilienceHub, ref: str) -> float:
    provider = hub.build_provider(ref)
    request = ChatRequest(model=ref.partition("/")[2], messages=REQUEST.messages)
    start = time.perf_counter()
    first = None
    async for event in provider.stream(request):
        if first is None and isinstance(event, TextDelta):
            first = time.perf_counter() - start
    assert first is not None, "no text came back"
    return first


async def bench_fallback(tmp: Path, runs: int, think: float) -> None:
    with StreamServer([Reply(body=BODY, first_byte_delay=think)]) as server:
        project = tmp / f"p{think}"
        project.mkdir()
        (project / "opencode.toml").write_text(
            'model = "a/m1"\n'
            # a huge threshold: every run really hits the dead port (no breaker skip)
            + toml("a", dead_url(), 'fallback = ["b/m2"]\nfailure_threshold = 1000000')
            + toml("b", server.url),
            encoding="utf-8",
        )
        store = await Store.open(tmp / f"fb{think}.db")
        hub = ResilienceHub(load_settings(load_config(project)), store)
        try:
            await ttft(hub, "b/m2")  # warm both paths (connection pool, imports)
            await ttft(hub, "a/m1")
            dead = hub.inner(hub.settings.providers["a"])
            direct, chain, connect = [], [], []
            for _ in range(runs):  # interleaved, so load on the machine hits all alike
                direct.append(await ttft(hub, "b/m2"))
                chain.append(await ttft(hub, "a/m1"))
                start = time.perf_counter()
                async for _event in dead.stream(REQUEST):
                    pass
                connect.append(time.perf_counter() - start)
        finally:
            await hub.aclose()
            await store.close()
    d, c, k = statistics.median(direct), statistics.median(chain), statistics.median(connect)
    goal = 1.2 * d + k
    print(
        f"dead primary -> fallback, think {think * 1000:.0f} ms (median of {runs}): fallback "
        f"TTFT direct {d * 1000:.2f} ms, through the chain {c * 1000:.2f} ms (ratio {c / d:.3f}); "
        f"refused connect {k * 1000:.2f} ms; goal 1.2 x direct + connect = {goal * 1000:.2f} ms: "
        + ("met" if c <= goal else "NOT met")
    )


class Instant:
    """A provider that answers at once: what is left is the resilience layer's own cost."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]:
        yield TextDelta("ok")
        yield Usage(10, 1)
        yield Finish("stop")

    async def aclose(self) -> None:
        return


async def bench_overhead(tmp: Path, calls: int) -> None:
    project = tmp / "overhead"
    project.mkdir()
    price = '[provider.a.price."m1"]\ninput = 1\noutput = 2\n'
    (project / "opencode.toml").write_text(
        'model = "a/m1"\n' + toml("a", "http://127.0.0.1:9", "rpm = 100000000") + price,
        encoding="utf-8",
    )
    config = load_config(project)
    store = await Store.open(tmp / "overhead.db")

    def make(cfg: ProviderConfig) -> Provider:
        return Instant(cfg)

    hub = ResilienceHub(load_settings(config), store, make_adapter=make, limiters=LimiterRegistry())
    hub.observers.append(lambda notice: None)
    bare = Instant(config.providers["a"])
    wrapped = hub.build_provider("a/m1")

    async def drain(provider: Provider) -> None:
        async for _ in provider.stream(REQUEST):
            pass

    try:
        for _ in range(50):
            await drain(wrapped)
            await drain(bare)
        start = time.perf_counter()
        for _ in range(calls):
            await drain(bare)
        bare_s = (time.perf_counter() - start) / calls
        start = time.perf_counter()
        for _ in range(calls):
            await drain(wrapped)
        wrapped_s = (time.perf_counter() - start) / calls
        rows = (await store.fetchone("SELECT COUNT(*) FROM provider_call"))[0]  # type: ignore[index]
    finally:
        await hub.aclose()
        await store.close()
    print(
        f"resilience overhead per call: {(wrapped_s - bare_s) * 1000:.3f} ms "
        f"(bare {bare_s * 1e6:.1f} us, wrapped {wrapped_s * 1e6:.1f} us; {calls} calls, "
        f"{rows} audit rows in SQLite; goal < 1 ms)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    runs = 5 if args.quick else 20
    with tempfile.TemporaryDirectory() as tmp:
        for think in (0.0, 0.2):
            await bench_fallback(Path(tmp), runs, think)
        await bench_overhead(Path(tmp), 200 if args.quick else 1000)


if __name__ == "__main__":
    asyncio.run(main())
