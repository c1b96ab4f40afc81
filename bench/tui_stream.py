"""Streaming benchmark: feed a 20k-character markdown reply to the app headless and measure.

Usage: python bench/tui_stream.py [--tokens-per-s 1000] [--chars 20000] [--baseline/--no-baseline]

The reply (paragraphs, bullet and numbered lists, fenced code in three languages) is cut into
~4-character tokens and offered at the given rate as the runner's own session events
(``PartDelta``) on the app's event bus, in a real session: the store writer (SQLite, batched)
and the transcript both receive them, exactly as when a provider streams. Printed figures:

- display lag: for each token, the time from its arrival until a flush put it on screen
  (max and p95, ms);
- event-loop lag: how late a 5 ms ``asyncio.sleep`` wakes up while streaming (p50/p95/max);
- chunks/s: tokens offered per second of wall time, and tokens the renderer absorbed per second;
- peak RSS (MB) after our run.

The same feed then goes through Textual's ``Markdown.get_stream()`` (``MarkdownStream``) in a
bare app, side by side, as the baseline.

``--code-block``: instead, what re-rendering a growing fenced code block costs per frame at
2k/4k/6k characters: drawn whole (``render_block``, as a block other than code is) and line by
line (``OpenFence``: highlighted whole, only new lines drawn), a line added per re-render.

Keystroke-to-frame and Esc latency while a reply streams through the real provider path (1k,
10k and unthrottled tokens/s), and the first frame after launch: ``bench/tui_latency.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHARS_PER_TOKEN = 4


# The bench's projects are throwaway folders with their own opencode.toml (providers that
# point at its loopback servers): trust them, as a user would trust their own project.
os.environ.setdefault("OPENCODE_TRUST_PROJECT", "1")


def make_reply(target_chars: int) -> str:
    """Deterministic markdown resembling a long coding answer."""
    parts: list[str] = []
    n = 0
    while sum(len(p) for p in parts) < target_chars:
        n += 1
        parts.append(f"## Step {n}: refactor the module\n")
        parts.append(
            "The function below reads the configuration, validates every field and returns "
            "a typed object. It keeps **errors** precise and `names` stable, so callers can "
            "rely on them.\n"
        )
        parts.append(
            "- read the file with `tomlkit`\n- substitute `{env:VAR}` values\n"
            "- validate providers and models\n  - nested detail about the model list\n"
            "- return the `Config`\n"
        )
        lang = ("python", "rust", "bash")[n % 3]
        if lang == "python":
            code = (
                "def load(path: Path) -> Config:\n"
                "    data = tomlkit.parse(path.read_text())\n"
                "    for key, value in data.items():\n"
                "        if key not in KNOWN:\n"
                "            raise ConfigError(f'unknown key {key!r} in {path}')\n"
                "    return Config(**data)\n"
            )
        elif lang == "rust":
            code = (
                "fn main() -> Result<(), Error> {\n"
                '    let cfg = Config::load("opencode.toml")?;\n'
                '    println!("{:?}", cfg);\n'
                "    Ok(())\n}\n"
            )
        else:
            code = 'set -euo pipefail\nfor f in *.py; do\n  ruff check "$f"\ndone\n'
        parts.append(f"```{lang}\n{code}```\n")
        parts.append(
            "1. run the tests\n2. check the types with mypy\n3. commit the change with a "
            "message that says why\n"
        )
        parts.append("> Note: the old loader silently ignored unknown keys.\n")
    return "\n".join(parts)[:target_chars]


def tokens_of(text: str) -> list[str]:
    return [text[i : i + CHARS_PER_TOKEN] for i in range(0, len(text), CHARS_PER_TOKEN)]


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class LoopLag:
    """Samples event-loop lag: how late a short sleep wakes up."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.samples.append((time.perf_counter() - start - self.interval) * 1000)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass


async def feed(
    tokens: list[str],
    rate: float,
    push: Callable[[str], Awaitable[None] | None],
) -> tuple[list[float], float]:
    """Offer tokens at ``rate``/s (in 4 ms bursts); return arrival times and wall time."""
    arrivals: list[float] = []
    start = time.perf_counter()
    sent = 0
    while sent < len(tokens):
        due = int((time.perf_counter() - start) * rate) + 1
        while sent < min(due, len(tokens)):
            arrivals.append(time.perf_counter())
            pushed = push(tokens[sent])
            if pushed is not None:
                await pushed
            sent += 1
        await asyncio.sleep(0.004)
    return arrivals, time.perf_counter() - start


def display_lags(
    arrivals: list[float], tokens: list[str], shown: list[tuple[float, int]]
) -> list[float]:
    """For each token, ms from arrival to the first flush showing all text through it."""
    ends = []
    total = 0
    for token in tokens:
        total += len(token)
        ends.append(total)
    lags: list[float] = []
    j = 0
    for i, end in enumerate(ends):
        while j < len(shown) and shown[j][1] < end:
            j += 1
        if j == len(shown):
            lags.append(float("inf"))
            continue
        lags.append(max(0.0, (shown[j][0] - arrivals[i]) * 1000))
    return lags


def report(
    label: str, lags: list[float], loop: list[float], wall: float, n: int, absorbed: float
) -> None:
    print(f"{label}")
    print(f"  tokens offered        {n} in {wall:.2f} s = {n / wall:.0f} tokens/s")
    print(f"  renderer absorbed     {absorbed:.0f} chunks/s")
    print(
        f"  display lag ms        max {max(lags):.1f}  p95 {pct(lags, 0.95):.1f}  "
        f"p50 {pct(lags, 0.5):.1f}"
    )
    print(
        f"  event-loop lag ms     p50 {pct(loop, 0.5):.1f}  p95 {pct(loop, 0.95):.1f}  "
        f"max {max(loop) if loop else 0:.1f}"
    )


async def run_ours(reply: str, rate: float, size: tuple[int, int]) -> dict[str, float]:
    from tests.support.tui_app import make_test_app, stream_events_into

    tokens = tokens_of(reply)
    with tempfile.TemporaryDirectory() as tmp:
        app = await make_test_app(Path(tmp))
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            shown: list[tuple[float, int]] = []
            widget, push, done = await stream_events_into(app)
            widget.on_flush = lambda chars: shown.append((time.perf_counter(), chars))
            lag = LoopLag()
            lag.start()
            arrivals, wall = await feed(tokens, rate, push)
            await asyncio.sleep(0.3)
            await done()
            await pilot.pause()
            await lag.stop()
            shown_all = widget.text == reply
            lags = display_lags(arrivals, tokens, shown)
            report(
                f"opencode StreamingMarkdown ({len(reply)} chars, {len(tokens)} tokens, "
                f"{len(shown)} flushes, text intact: {shown_all})",
                lags,
                lag.samples,
                wall,
                len(tokens),
                len(tokens) / wall,
            )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS              {rss:.0f} MB")
    return {"max_lag": max(lags), "loop_p95": pct(lag.samples, 0.95), "rss": rss}


async def run_baseline(reply: str, rate: float, size: tuple[int, int]) -> None:
    from textual.app import App, ComposeResult
    from textual.containers import VerticalScroll
    from textual.widgets import Markdown

    tokens = tokens_of(reply)
    shown: list[tuple[float, int]] = []

    class Recording(Markdown):
        async def append(self, markdown: str):  # type: ignore[no-untyped-def]
            result = await super().append(markdown)
            shown.append((time.perf_counter(), len(self.source)))
            return result

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            with VerticalScroll():
                yield Recording()

    app = Bare()
    async with app.run_test(size=size) as pilot:
        markdown = app.query_one(Recording)
        stream = Markdown.get_stream(markdown)
        lag = LoopLag()
        lag.start()

        def push(token: str) -> None:
            asyncio.ensure_future(stream.write(token))

        arrivals, wall = await feed(tokens, rate, push)
        deadline = time.perf_counter() + 60
        while (  # noqa: ASYNC110 - polling the widget is the measurement
            not shown or shown[-1][1] < len(reply)
        ) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        await stream.stop()
        await lag.stop()
        await pilot.pause()
        lags = display_lags(arrivals, tokens, shown)
        absorbed_s = (shown[-1][0] - arrivals[0]) if shown else wall
        report(
            f"Textual MarkdownStream baseline ({len(shown)} appends)",
            lags,
            lag.samples,
            wall,
            len(tokens),
            len(tokens) / absorbed_s,
        )


def code_block_figures(width: int) -> None:
    from rich.console import Console
    from rich.style import Style

    from opencode.tui.widgets.markdown_blocks import OpenFence, render_block

    console = Console(width=width, color_system="truecolor", force_terminal=True)
    style = Style()
    for chars in (2000, 4000, 6000):
        lines: list[str] = []
        while sum(len(line) + 1 for line in lines) < chars:
            n = len(lines)
            lines.append(f"    value_{n} = compute({n}, 'x' * {n})  # step {n}")
        fence = OpenFence()
        times: dict[str, list[float]] = {"whole": [], "lines": []}
        for count in range(len(lines) - 20, len(lines) + 1):
            tail = "```python\n" + "\n".join(lines[:count]) + "\n"
            fence.render(
                console, "```python\n" + "\n".join(lines[: count - 1]) + "\n", width, style
            )
            started = time.perf_counter()
            render_block(console, tail, width, style)
            times["whole"].append(time.perf_counter() - started)
            started = time.perf_counter()
            fence.render(console, tail, width, style)
            times["lines"].append(time.perf_counter() - started)
        whole, by_line = (sorted(times[k])[len(times[k]) // 2] * 1000 for k in ("whole", "lines"))
        print(
            f"open code block {chars:>5} chars: re-render whole {whole:.1f} ms, "
            f"line by line {by_line:.1f} ms (median of 21)"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens-per-s", type=float, default=1000)
    parser.add_argument("--chars", type=int, default=20000)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--code-block", action="store_true", help="code block figures only")
    parser.add_argument("--width", type=int, default=120)
    parser.add_argument("--height", type=int, default=40)
    opts = parser.parse_args()
    if opts.code_block:
        code_block_figures(opts.width - 2)
        return
    reply = make_reply(opts.chars)
    size = (opts.width, opts.height)
    print(
        f"reply: {len(reply)} chars, {reply.count('```') // 2} code fences; "
        f"offered at {opts.tokens_per_s:.0f} tokens/s x {CHARS_PER_TOKEN} chars; "
        f"{size[0]}x{size[1]}"
    )
    await run_ours(reply, opts.tokens_per_s, size)
    gc.collect()
    if not opts.no_baseline:
        await run_baseline(reply, opts.tokens_per_s, size)


if __name__ == "__main__":
    asyncio.run(main())
