"""Input latency while a reply streams, through the real path end to end.

Usage: python bench/tui_latency.py [--rates 1000,10000,0] [--seconds 5] [--big-chars 1000000]
                                   [--typing on|off|both] [--repeat N]

A loopback HTTP server (``tests.support.stream_server``) streams an OpenAI-style SSE reply in
4-character deltas to the app (headless, 120x40) in a real session: provider adapter, runner,
event bus, the store writer (SQLite) and the transcript all do their real work. Rate 0 means
unthrottled: the server writes as fast as the socket takes it, the worst a local server does.

Printed per rate:
- keystroke latency (p50/p95/max ms): a key is sent as the terminal driver sends it, every
  50 ms; measured until the prompt holds it and the next screen refresh has run;
- the stream's wall time and the process CPU time it cost: until the turn ended, and until the
  screen showed the end of the reply ("on screen");
- with ``--typing off`` (or ``both``) the same stream again with no keys sent, for the time
  and CPU rendering costs when nobody types;
- Esc-to-interrupted (unthrottled, ``--big-chars`` reply): from Esc until the turn's worker has
  ended (its interrupted message saved) and the status says "interrupted"; and until the status
  first said so.
With ``--repeat N`` each rate streams N times and the keys of all N are pooled too.
Then the first frame after launch: a fresh interpreter, from ``exec`` to the chat screen's
first refresh (the median of three, byte code cached as after an install).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHARS_PER_TOKEN = 4
PROBE_EVERY_S = 0.05
# (future, condition): resolved by the first frame composed once the condition holds
PAINT_WAITERS: list[tuple[asyncio.Future[float], Callable[[], bool]]] = []


# The bench's projects are throwaway folders with their own opencode.toml (providers that
# point at its loopback servers): trust them, as a user would trust their own project.
os.environ.setdefault("OPENCODE_TRUST_PROJECT", "1")


def sse_body(chars: int) -> tuple[bytes, int]:
    """An SSE reply of ``chars`` characters in 4-character deltas; and its line length."""
    from bench.tui_stream import make_reply, tokens_of

    reply = make_reply(chars)
    lines = []
    for token in tokens_of(reply):
        chunk = {"choices": [{"index": 0, "delta": {"content": token}}]}
        lines.append(f"data: {json.dumps(chunk)}\n\n")
    line_len = max(len(line.encode()) for line in lines)
    lines.append('data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n')
    lines.append("data: [DONE]\n\n")
    return "".join(lines).encode(), line_len


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def key_latency(app: object, char: str) -> float:
    """Send ``char`` as the driver does; ms until the prompt has it and the screen refreshed."""
    chat = app.chat  # type: ignore[attr-defined]
    prompt = chat.prompt
    loop = asyncio.get_running_loop()
    painted: asyncio.Future[float] = loop.create_future()
    PAINT_WAITERS.append((painted, lambda: prompt.text.endswith(char)))
    start = time.perf_counter()
    send_key(app, char, char)
    frame = await painted
    return (frame - start) * 1000


def watch_frames() -> None:
    """Resolve ``PAINT_WAITERS`` when the screen next composes a frame (headless, the frame
    goes nowhere; in a terminal this is where it is written out)."""
    from textual.screen import Screen

    refresh = Screen._compositor_refresh

    def timed(self: Screen[object]) -> None:
        refresh(self)
        now = time.perf_counter()
        for waiter, condition in list(PAINT_WAITERS):
            if condition():
                PAINT_WAITERS.remove((waiter, condition))
                if not waiter.done():
                    waiter.set_result(now)

    Screen._compositor_refresh = timed  # type: ignore[method-assign]


def send_key(app: object, key: str, character: str | None) -> None:
    """Post a key the way the terminal driver does (from its thread, through the loop)."""
    from textual import events

    event = events.Key(key, character)
    event.set_sender(app)  # type: ignore[arg-type]
    app._driver.send_message(event)  # type: ignore[attr-defined]


async def send_prompt(app: object, text: str) -> None:
    """Type ``text`` into the prompt and press Enter as a terminal would; return once the turn
    runs. (``pilot.press`` waits until every widget's queue is idle, which while a reply
    streams fast is after most of it: probing would start late and miss the worst.)"""
    chat = app.chat  # type: ignore[attr-defined]
    prompt = chat.prompt
    prompt.focus()
    prompt.load_text(text)
    prompt.move_cursor(prompt.document.end)
    send_key(app, "enter", "\r")
    while not chat.running:  # noqa: ASYNC110 - waiting for the screen's own state
        await asyncio.sleep(0.001)


def catching_up(part: Any) -> bool:
    """The part has text that is not on screen yet (older trees: read from its state)."""
    flag = getattr(part, "catching_up", None)
    if flag is not None:
        return bool(flag)
    rendered = part._renders.get(part._width)
    tail_key = (part._splitter.open_start, len(part._splitter.text))
    return bool(part._pending) or (
        rendered is not None
        and (rendered.blocks < len(part._blocks) or rendered.tail_key != tail_key)
    )


async def run_rate(
    rate: float, seconds: float, big_chars: int, typing: bool = True, esc: bool = True
) -> list[float]:
    from tests.support.stream_server import Reply, StreamServer
    from tests.support.tui_app import make_test_app

    chars = big_chars if rate == 0 else int(rate * seconds * CHARS_PER_TOKEN)
    body, line_len = sse_body(chars)
    if rate == 0:
        reply = Reply(body=body, chunk_size=65536)
    else:
        lines_per_chunk = max(1, int(rate * 0.01))  # one write every 10 ms
        reply = Reply(body=body, chunk_size=lines_per_chunk * line_len, delay=0.01)
    with StreamServer([reply]) as server, tempfile.TemporaryDirectory() as tmp:
        app = await make_test_app(Path(tmp), base_url=f"{server.url}/v1", open_session=False)
        async with app.run_test(size=(120, 40)):
            chat = app.chat
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await send_prompt(app, "stream please")
            lags: list[float] = []
            letters = "abcdefghijklmnopqrstuvwxyz"

            def streaming() -> bool:
                # The turn runs, or the screen is still rendering what it received.
                parts = chat.transcript.query("StreamingMarkdown")
                return chat.running or bool(parts and catching_up(parts.last()))

            turn_s = 0.0
            while streaming():
                await asyncio.sleep(PROBE_EVERY_S)
                if not turn_s and not chat.running:
                    turn_s = time.perf_counter() - wall0
                if not streaming():
                    break
                if not typing:
                    continue
                lags.append(await key_latency(app, letters[len(lags) % 26]))
                if len(lags) % 20 == 0:
                    chat.prompt.clear()
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            turn_s = turn_s or wall
            shown = len(chat.transcript.query("StreamingMarkdown").last().text)
            label = "unthrottled" if rate == 0 else f"{rate:.0f} tokens/s"
            keys = (
                f"keystroke ms p50 {pct(lags, 0.5):.1f}  p95 {pct(lags, 0.95):.1f}  "
                f"max {max(lags, default=float('nan')):.1f}  ({len(lags)} keys)"
                if typing
                else "no typing"
            )
            print(
                f"{label:>14}: {chars} chars, turn {turn_s:.1f} s, on screen {wall:.1f} s, "
                f"CPU {cpu:.1f} s, shown {shown}; {keys}"
            )
            if rate == 0 and typing and esc:
                await esc_latency(app, server, body)
            return lags


async def esc_latency(app: object, server: object, body: bytes) -> None:
    from tests.support.stream_server import Reply

    chat = app.chat  # type: ignore[attr-defined]
    server.add(Reply(body=body, chunk_size=65536))  # type: ignore[attr-defined]
    chat.prompt.clear()
    earlier = len(chat.transcript.query("StreamingMarkdown"))
    await send_prompt(app, "again")

    def streamed() -> int:
        # This reply's text so far (not the previous reply's, still the last part at first).
        parts = chat.transcript.query("StreamingMarkdown")
        return len(parts.last().text) if len(parts) > earlier else 0

    while chat.running and streamed() < 50_000:  # noqa: ASYNC110 - polling is the measurement
        await asyncio.sleep(0.01)
    if not chat.running:
        print(f"{'Esc':>14}: the reply ended before 50,000 characters arrived; not measured")
        return
    start = time.perf_counter()
    said = 0.0
    send_key(app, "escape", None)
    while chat.running:  # noqa: ASYNC110 - polling the screen is the measurement
        if not said and chat.status.state == "interrupted":
            said = time.perf_counter()
        await asyncio.sleep(0.001)
    ended = time.perf_counter()
    print(
        f"{'Esc':>14}: interrupted after {(ended - start) * 1000:.0f} ms "
        f"(status {chat.status.state!r}, shown after {((said or ended) - start) * 1000:.0f} ms)"
    )


FIRST_FRAME_CHILD = """
import asyncio, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, {root!r})
async def main():
    from textual.screen import Screen
    from tests.support.tui_app import make_test_app
    done = asyncio.get_running_loop().create_future()
    compose = Screen._compositor_refresh
    def timed(self):  # the chat screen's first frame composed (in a terminal: written out)
        compose(self)
        if type(self).__name__ == "ChatScreen" and not done.done():
            done.set_result(time.time())
    Screen._compositor_refresh = timed
    app = await make_test_app(Path(tempfile.mkdtemp()), open_session=False)
    async with app.run_test(size=(120, 40)):
        print(await done - {start})
asyncio.run(main())
"""


def first_frame() -> None:
    """The median of three launches with byte code cached, as after an install (the first,
    which compiles, is printed apart: ``PYTHONDONTWRITEBYTECODE`` would make every run that)."""
    root = str(Path(__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        times = []
        for _ in range(4):
            code = FIRST_FRAME_CHILD.format(root=root, start=time.time())
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, env=env
            )
            times.append(float(out.stdout.strip().splitlines()[-1]) * 1000)
    cold, warm = times[0], times[1:]
    print(
        f"{'first frame':>14}: {sorted(warm)[1]:.0f} ms after exec (runs: "
        + ", ".join(f"{t:.0f}" for t in warm)
        + f"; {cold:.0f} compiling byte code)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="1000,10000,0", help="tokens/s; 0 = unthrottled")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--big-chars", type=int, default=1_000_000)
    parser.add_argument("--no-first-frame", action="store_true")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="streams per rate, keys pooled (one stream gives ~10 keys at rate 0: its p95 is "
        "its max)",
    )
    parser.add_argument(
        "--typing", choices=("on", "off", "both"), default="on", help="keys sent while streaming"
    )
    opts = parser.parse_args()
    watch_frames()
    modes = {"on": (True,), "off": (False,), "both": (True, False)}[opts.typing]
    for rate in (float(r) for r in opts.rates.split(",")):
        for typing in modes:
            pooled: list[float] = []
            for run in range(opts.repeat):
                last = run == opts.repeat - 1
                pooled += await run_rate(rate, opts.seconds, opts.big_chars, typing, esc=last)
            if opts.repeat > 1 and typing:
                print(
                    f"{'pooled':>14}: {opts.repeat} streams, keystroke ms p50 "
                    f"{pct(pooled, 0.5):.1f}  p95 {pct(pooled, 0.95):.1f}  "
                    f"max {max(pooled, default=float('nan')):.1f}  ({len(pooled)} keys)"
                )
    if not opts.no_first_frame:
        first_frame()


if __name__ == "__main__":
    asyncio.run(main())
