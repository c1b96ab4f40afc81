"""Live output of a running bash command: ``OutputRelay`` bounds and merges it, and
``opencode run --format json`` prints it (``tool_output``) before the command has ended.

Real commands in real subprocesses; the "before it ended" proof waits on conditions: the
command blocks until the test creates a file, which the test does only once it has read the
first line live."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from opencode.sessions.events import SessionEvent, ToolOutputDelta
from opencode.sessions.tool_output import MAX_PENDING_CHARS, OutputRelay
from opencode.sessions.tools.base import ToolContext
from opencode.sessions.tools.shell import BashTool
from tests.engine.helpers import opencode, spawn, write_config
from tests.support.stream_server import StreamServer
from tests.tools.test_todo import text_reply, tool_call_reply

WAIT_FOR_GO = "echo first; while [ ! -e go ]; do sleep 0.02; done; echo second"
FLOOD_LINES = 200_000
# One write per line, as a chatty build prints: the worst case for per-chunk costs.
FLOOD = f"for i in $(seq 1 {FLOOD_LINES}); do echo line $i; done"


class Collector:
    def __init__(self) -> None:
        self.events: list[ToolOutputDelta] = []
        self.arrived = asyncio.Event()

    async def __call__(self, event: SessionEvent) -> None:
        assert isinstance(event, ToolOutputDelta)
        self.events.append(event)
        self.arrived.set()


async def test_a_flood_is_merged_into_few_bounded_events(tmp_path: Path) -> None:
    """200,000 lines from a real command: events are few (bounded by the command's run time
    over the interval), each is at most MAX_PENDING_CHARS, and the relay's buffer never
    holds more than twice that."""
    seen = Collector()
    relay = OutputRelay(seen, "ses_1", "call_1")
    peak = [0]

    def feed(data: bytes) -> None:
        relay.feed(data)
        peak[0] = max(peak[0], relay._pending_chars)  # what the relay holds, after each chunk

    async def record(path: Path, before: bytes | None) -> None:
        return None

    ctx = ToolContext(tmp_path, "ses_1", "call_1", record, on_output=feed)
    started = time.monotonic()
    result = await BashTool().run({"command": FLOOD}, ctx)
    elapsed = time.monotonic() - started
    await relay.close()
    assert result.metadata["exit_code"] == 0
    assert result.metadata["output_bytes"] > 2_000_000
    assert peak[0] <= 2 * MAX_PENDING_CHARS
    assert 1 <= len(seen.events) <= elapsed / relay.interval_s + 2
    assert all(len(e.text) <= MAX_PENDING_CHARS for e in seen.events)
    # Whole lines only, and what a flood skipped is counted, not silently lost.
    assert all(e.text.endswith("\n") for e in seen.events)
    assert sum(e.dropped for e in seen.events) > 0


async def test_nothing_is_emitted_after_close_and_partial_lines_wait() -> None:
    seen = Collector()
    relay = OutputRelay(seen, "ses_1", "call_1", interval_s=0.01)
    relay.feed("half a line é".encode()[:-1])  # and half a UTF-8 character
    relay.feed(b"\xa9 done\nnext")
    await asyncio.wait_for(seen.arrived.wait(), 10)
    assert seen.events[0].text == "half a line é done\n"
    await relay.close()
    relay.feed(b"after close\n")
    assert relay._task is None  # closed: no task left to emit anything
    assert [e.text for e in seen.events] == ["half a line é done\n"]


async def test_live_output_is_scrubbed_of_secrets() -> None:
    seen = Collector()
    relay = OutputRelay(seen, "ses_1", "call_1", ("hunter2-very-secret",), interval_s=0.01)
    relay.feed(b"token=hunter2-very")
    relay.feed(b"-secret\n")
    await asyncio.wait_for(seen.arrived.wait(), 10)
    await relay.close()
    assert "hunter2" not in seen.events[0].text
    assert "[redacted" in seen.events[0].text


def test_json_prints_the_first_line_before_the_command_ends(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    with StreamServer(
        [tool_call_reply("bash", {"command": WAIT_FOR_GO}), text_reply("Done.")]
    ) as server:
        write_config(project, "openai", server.url)
        proc = spawn(project, "run", "--format", "json", "--yes", "Run it")
        assert proc.stdout is not None
        lines: list[dict[str, Any]] = []
        try:
            for raw in proc.stdout:  # blocks until the next line: no timing assumed
                line = json.loads(raw)
                lines.append(line)
                if line["type"] == "tool_output":
                    break
            assert [e["type"] for e in lines if e["type"].startswith("tool")] == [
                "tool_call",
                "tool_output",
            ]
            assert lines[-1]["text"] == "first\n"
            (project / "go").touch()  # only now may the command end
            rest = [json.loads(raw) for raw in proc.stdout]
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 0
    outputs = [e for e in lines + rest if e["type"] == "tool_output"]
    # "second" may come live or only in the result: the command ends right after printing it.
    assert "first\nsecond\n".startswith("".join(e["text"] for e in outputs))
    (result,) = [e for e in rest if e["type"] == "tool_result"]
    assert "first\nsecond\n" in result["output"]
    assert result["call_id"] == lines[-1]["call_id"]


def test_a_flood_through_run_stays_a_handful_of_json_lines(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    with StreamServer([tool_call_reply("bash", {"command": FLOOD}), text_reply("ok")]) as server:
        write_config(project, "openai", server.url)
        run = opencode(project, "run", "--format", "json", "--yes", "flood")
    assert run.code == 0, run.stderr
    (result,) = run.of_type("tool_result")
    outputs = run.of_type("tool_output")
    # At most one per 50 ms of the command's run, plus the first; each bounded.
    assert 1 <= len(outputs) <= result["duration_ms"] / 50 + 2
    assert all(len(e["text"]) <= MAX_PENDING_CHARS for e in outputs)
    assert f"line {FLOOD_LINES}\n" in result["output"]


async def test_a_carriage_return_progress_bar_is_emitted_as_it_redraws() -> None:
    """``10%\\r20%\\r`` with no newline yet: each state is sent, not held until the end."""
    seen = Collector()
    relay = OutputRelay(seen, "ses_1", "call_1", interval_s=0.01)
    relay.feed(b"downloading  10%\r")
    await asyncio.wait_for(seen.arrived.wait(), 10)
    await relay.close()
    assert seen.events[0].text == "downloading  10%\r"
