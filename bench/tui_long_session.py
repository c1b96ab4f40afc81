"""Long-session benchmark: open a 10,000-message session from a real SQLite store, headless.

Usage: python bench/tui_long_session.py [--messages 10000] [--keys 100]
       python bench/tui_long_session.py --turns 1000 [--reply-chars 20000]

With ``--turns``: a live session instead, ``--turns`` turns of a user message and a
``--reply-chars`` markdown reply, emitted on the app's bus as the runner does (the store writer
stores them, the transcript shows them, old messages are unmounted as the session grows); the
process's RSS is printed at turns 10, 100, 1000 (those up to ``--turns``) and at the end, with
no forced garbage collection: what a user's ``top`` shows; then the growth from turn 10 to the
last turn (goal: at most 30 MB over 1,000 turns) and the cyclic collector's passes over the
run: how many full ones, their pause p50/max (wall and CPU time), and the longest pass of any
generation, with the load average (wall times stretch on a busy machine).

Without it:

Printed figures:
- time to first paint: from ``open_session`` (the work ``opencode -s ID`` does after start-up)
  to the first frame showing the session, and the same from app start (``run_test`` entry);
- messages mounted (only the latest page is; earlier ones load when scrolling to the top);
- keypress latency while typing in the prompt: p50/p95/max over ``--keys`` presses, each from
  the key event until the app is idle again with the prompt repainted;
- time to load the previous page when scrolled to the top; peak RSS.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


# The bench's projects are throwaway folders with their own opencode.toml (providers that
# point at its loopback servers): trust them, as a user would trust their own project.
os.environ.setdefault("OPENCODE_TRUST_PROJECT", "1")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rss_mb() -> float:
    """The resident set size now (not the peak), in MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


async def live_turns(turns: int, reply_chars: int) -> None:
    from bench.tui_stream import make_reply
    from opencode.sessions.events import MessageFinished, MessageStarted, PartStarted
    from opencode.sessions.ids import new_id
    from opencode.tui.widgets.message_views import AssistantMessage, UserMessage
    from tests.support.tui_app import make_test_app, stream_events_into

    reply = make_reply(reply_chars)
    checkpoints = {n for n in (10, 100, 1000, turns) if n <= turns}
    rss_at: dict[int, float] = {}
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    full_cpu: list[float] = []  # the full passes' CPU time: wall time counts a busy machine
    pass_started = cpu_started = 0.0

    def on_gc(phase: str, info: dict[str, int]) -> None:
        nonlocal pass_started, cpu_started
        if phase == "start":
            pass_started, cpu_started = time.perf_counter(), time.process_time()
            return
        pauses[info["generation"]].append((time.perf_counter() - pass_started) * 1000)
        if info["generation"] == 2:
            full_cpu.append((time.process_time() - cpu_started) * 1000)

    with tempfile.TemporaryDirectory() as tmp:
        app = await make_test_app(Path(tmp), open_session=False)
        async with app.run_test(size=(120, 40)) as pilot:
            chat = app.chat
            await chat.open_session()
            bus, sid = app.engine.bus, chat.transcript.session_id
            assert sid is not None
            started = time.perf_counter()
            gc.callbacks.append(on_gc)
            for turn in range(1, turns + 1):
                user = new_id("msg")
                await bus.emit(MessageStarted(sid, user, "user"))
                await bus.emit(PartStarted(sid, user, new_id("prt"), 1, "text", f"question {turn}"))
                await bus.emit(MessageFinished(sid, user, "stop"))
                widget, push, done = await stream_events_into(app)
                for i in range(0, len(reply), 2000):
                    await push(reply[i : i + 2000])
                await done()
                await pilot.pause()
                if turn in checkpoints:
                    rss_at[turn] = rss_mb()
                    mounted = len(chat.query(UserMessage)) + len(chat.query(AssistantMessage))
                    print(
                        f"turn {turn:>5}: RSS {rss_at[turn]:6.1f} MB, {mounted} messages mounted, "
                        f"{time.perf_counter() - started:.0f} s",
                        flush=True,
                    )
            gc.callbacks.remove(on_gc)
    if 10 in rss_at and turns > 10:
        print(f"growth turn 10 -> {turns}: {rss_at[turns] - rss_at[10]:+.1f} MB")
    full = pauses[2]
    longest = max((p for gen in pauses.values() for p in gen), default=0.0)
    print(
        f"full collections: {len(full)}, pause p50 {pct(full, 0.5) if full else 0:.0f} ms "
        f"(CPU {pct(full_cpu, 0.5) if full_cpu else 0:.0f} ms), max {max(full, default=0):.0f} "
        f"ms (CPU {max(full_cpu, default=0):.0f} ms); longest pass of any generation "
        f"{longest:.0f} ms; load average {os.getloadavg()[0]:.1f}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument("--turns", type=int, default=0, help="live turns instead (RSS per turn)")
    parser.add_argument("--reply-chars", type=int, default=20_000)
    opts = parser.parse_args()
    if opts.turns:
        await live_turns(opts.turns, opts.reply_chars)
        return

    from textual import events

    from opencode.tui.widgets.message_views import AssistantMessage, UserMessage
    from opencode.tui.widgets.transcript import Transcript
    from tests.support.tui_app import config_for_tests, seed_long_session

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["OPENCODE_DATA_DIR"] = str(root / "data")
        config = config_for_tests(root / "data")
        started = time.perf_counter()
        session_id = await seed_long_session(config.db_path, root, opts.messages)
        print(
            f"seeded {opts.messages} messages in {time.perf_counter() - started:.1f} s "
            f"({config.db_path.stat().st_size / 1e6:.1f} MB database)"
        )

        from opencode.tui.app import OpencodeApp

        app = OpencodeApp(config=config, cwd=root, open_session=False)
        t_app = time.perf_counter()
        async with app.run_test(size=(120, 40)) as pilot:
            t_ready = time.perf_counter()
            chat = app.chat
            painted = asyncio.get_running_loop().create_future()
            t_open = time.perf_counter()
            await chat.open_session(session_id=session_id)
            chat.transcript.call_after_refresh(lambda: painted.set_result(time.perf_counter()))
            t_paint = await painted
            transcript = chat.query_one(Transcript)
            mounted = len(transcript.query(UserMessage)) + len(transcript.query(AssistantMessage))
            print(f"first paint after open_session     {(t_paint - t_open) * 1000:.0f} ms")
            print(
                f"first paint from app start          {(t_paint - t_app) * 1000:.0f} ms "
                f"(app ready in {(t_ready - t_app) * 1000:.0f} ms)"
            )
            print(f"messages mounted                    {mounted} of {opts.messages}")

            chat.prompt.focus()
            latencies: list[float] = []
            prompt = chat.prompt
            driver = app._driver
            assert driver is not None
            for i in range(opts.keys):
                key = "abcdefghij"[i % 10]
                length = len(prompt.text)
                repainted = asyncio.get_running_loop().create_future()
                t0 = time.perf_counter()
                event = events.Key(key, key)
                event.set_sender(app)
                driver.send_message(event)  # as the terminal driver delivers a key
                while len(prompt.text) == length:  # noqa: ASYNC110 - the measured wait
                    await asyncio.sleep(0)
                prompt.call_after_refresh(
                    lambda f=repainted: f.done() or f.set_result(time.perf_counter())
                )
                latencies.append((await repainted - t0) * 1000)
                await asyncio.sleep(0.02)  # typing speed: 50 keys/s
            assert chat.prompt.text.startswith("abcdefghij")
            print(
                f"keypress to repaint ms                 p50 {pct(latencies, 0.5):.1f}  "
                f"p95 {pct(latencies, 0.95):.1f}  max {max(latencies):.1f}  "
                f"({opts.keys} keys)"
            )

            before = mounted
            t0 = time.perf_counter()
            transcript.scroll_to(y=1, animate=False)
            await pilot.pause()
            transcript.scroll_to(y=0, animate=False)
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline:
                await pilot.pause(0.01)
                now = len(transcript.query(UserMessage)) + len(transcript.query(AssistantMessage))
                if now > before:
                    break
            print(
                f"earlier page loaded on scroll-up    {(time.perf_counter() - t0) * 1000:.0f} ms "
                f"({now - before} more messages)"
            )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS                            {rss:.0f} MB")


if __name__ == "__main__":
    asyncio.run(main())
