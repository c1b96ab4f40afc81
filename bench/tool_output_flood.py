"""Live bash output under a flood: what streaming a command's output costs, side by side.

Usage: python bench/tool_output_flood.py [--lines 200000] [--lines 1000000]

For each size, the same real command (``for i in $(seq 1 N); do echo line $i; done``, one
write per line, the worst case for per-chunk costs; and ``seq N`` piped through ``sed``, big
chunks) runs through ``BashTool`` twice in one process:

- before: no output callback (what the tool did before live output);
- after: ``OutputRelay`` feeding a real ``EventBus`` with one subscriber (as the TUI's).

Printed per run: wall time, output bytes, ``ToolOutputDelta`` events, events per second, the
largest event's text, the relay's peak buffer, and the Python heap peak (tracemalloc) during
the run. The goal: events stay near one per ``INTERVAL_S`` whatever the command prints, and
the relay's memory stays flat.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import tracemalloc
from pathlib import Path
from typing import Any

from opencode.sessions.events import EventBus, SessionEvent, ToolOutputDelta
from opencode.sessions.tool_output import OutputRelay
from opencode.sessions.tools.base import ToolContext
from opencode.sessions.tools.shell import BashTool


async def one(command: str, live: bool) -> dict[str, Any]:
    bus = EventBus()
    events: list[int] = []

    def subscriber(event: SessionEvent) -> None:
        if isinstance(event, ToolOutputDelta):
            events.append(len(event.text))

    bus.subscribe(subscriber)
    relay = OutputRelay(bus.emit, "ses_bench", "call_bench")
    peak = [0]

    def feed(data: bytes) -> None:
        relay.feed(data)
        peak[0] = max(peak[0], relay._pending_chars)

    async def record(path: Path, before: bytes | None) -> None:
        return None

    ctx = ToolContext(
        Path.cwd(), "ses_bench", "call_bench", record, on_output=feed if live else None
    )
    tracemalloc.start()
    started = time.perf_counter()
    result = await BashTool().run({"command": command, "timeout": 600}, ctx)
    await relay.close()
    wall = time.perf_counter() - started
    _, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "wall_s": wall,
        "bytes": result.metadata.get("output_bytes", 0),
        "events": len(events),
        "max_text": max(events, default=0),
        "relay_peak": peak[0],
        "heap_peak_kb": heap_peak // 1024,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, action="append")
    args = parser.parse_args()
    sizes = args.lines or [200_000, 1_000_000]
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    header = (
        f"{'command':<10} {'lines':>9} {'mode':<6} {'wall s':>7} {'MB out':>7} {'events':>7}"
        f" {'ev/s':>6} {'max ev':>7} {'buf peak':>8} {'heap KB':>8}"
    )
    print(header)
    for lines in sizes:
        commands = {
            "echo-loop": f"for i in $(seq 1 {lines}); do echo line $i; done",
            "seq|sed": f"seq 1 {lines} | sed 's/^/line /'",
        }
        for name, command in commands.items():
            for live in (False, True):
                r = await one(command, live)
                rate = r["events"] / r["wall_s"] if r["wall_s"] else 0.0
                print(
                    f"{name:<10} {lines:>9} {'after' if live else 'before':<6}"
                    f" {r['wall_s']:>7.2f} {r['bytes'] / 1e6:>7.1f} {r['events']:>7}"
                    f" {rate:>6.1f} {r['max_text']:>7} {r['relay_peak']:>8}"
                    f" {r['heap_peak_kb']:>8}"
                )


if __name__ == "__main__":
    asyncio.run(main())
