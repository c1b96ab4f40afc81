"""``opencode run --input-format stream-json``: user messages as JSON Lines on stdin.

Each non-blank line is one user message, in either shape:

- ``{"type": "user", "message": {"content": "..."}}`` (Claude Code's stream-json input; the
  content may also be a list of ``{"type": "text", "text": "..."}`` blocks)
- ``{"text": "..."}``

A line that is not one of these becomes a ``LineError`` naming its line number; the caller
reports it and reads on. Lines are read one at a time, only when the previous turn is done, so
a writer that waits for each reply (a bidirectional pipe) works as well as a file.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, BinaryIO

# A line longer than this is refused (and skipped) rather than held in memory whole.
MAX_LINE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class UserLine:
    line: int
    text: str


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    message: str
    hint: str = 'each line must be {"type":"user","message":{"content":"..."}} or {"text":"..."}'


def parse_line(number: int, raw: bytes) -> UserLine | LineError | None:
    """One stdin line → a user message, an error naming the line, or None (blank)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return LineError(number, f"line {number} is not UTF-8 ({exc.reason} at byte {exc.start})")
    if not text.strip():
        return None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        return LineError(number, f"line {number} is not JSON: {exc.msg} (column {exc.colno})")
    if not isinstance(record, dict):
        return LineError(number, f"line {number} is JSON but not an object")
    content = _content(record)
    if content is None:
        kind = record.get("type")
        what = f"a {kind!r} record" if isinstance(kind, str) else "an object with no text"
        return LineError(number, f"line {number} is {what}, not a user message")
    if not content.strip():
        return LineError(number, f"line {number} has an empty message")
    return UserLine(number, content)


def _content(record: dict[str, Any]) -> str | None:
    if record.get("type") == "user" and isinstance(record.get("message"), dict):
        content = record["message"].get("content")
    elif "type" not in record and "text" in record:
        content = record["text"]
    else:
        return None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            block["text"]
            for block in content
            if isinstance(block, dict)
            and block.get("type") == "text"
            and isinstance(block.get("text"), str)
        ]
        return "\n\n".join(texts) if texts else None
    return None


async def read_lines(stdin: BinaryIO | None = None) -> AsyncIterator[UserLine | LineError]:
    """Parsed lines of stdin until EOF. A pipe or terminal is read without blocking the loop
    (so Ctrl+C cancels a wait for the next line); a regular file is read directly."""
    source = stdin or sys.stdin.buffer
    reader: asyncio.StreamReader | None = None
    try:
        loop = asyncio.get_running_loop()
        piped = asyncio.StreamReader(limit=MAX_LINE_BYTES)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(piped), source)
        reader = piped
    except (ValueError, OSError):
        reader = None  # a regular file (or /dev/null): plain reads never block for long
    number = 0
    while True:
        number += 1
        if reader is not None:
            try:
                raw = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                raw = exc.partial  # the last line had no newline (or EOF: empty)
            except asyncio.LimitOverrunError:  # longer than MAX_LINE_BYTES: drop to its end
                await _skip_long_line(reader)
                yield LineError(number, f"line {number} is longer than {MAX_LINE_BYTES} bytes")
                continue
        else:
            raw = source.readline(MAX_LINE_BYTES + 1)
            if len(raw) > MAX_LINE_BYTES:
                while raw and not raw.endswith(b"\n"):
                    raw = source.readline(MAX_LINE_BYTES)
                yield LineError(number, f"line {number} is longer than {MAX_LINE_BYTES} bytes")
                continue
        if not raw:
            return
        parsed = parse_line(number, raw)
        if parsed is not None:
            yield parsed


async def _skip_long_line(reader: asyncio.StreamReader) -> None:
    """Discard through the next newline, a buffer's worth at a time (nothing is consumed by
    the overrun itself, so the line after it is never lost)."""
    while True:
        try:
            await reader.readuntil(b"\n")
            return
        except asyncio.LimitOverrunError as exc:
            await reader.readexactly(exc.consumed)
        except asyncio.IncompleteReadError:
            return
