"""Helpers for end-to-end tests: a project dir with a config pointing at a loopback server,
``opencode run`` as a real subprocess, and reading the real SQLite file afterwards."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "streams"

API_PATHS = {"openai": "/v1", "anthropic": "/v1", "ollama": ""}
EXT = {"openai": "sse", "anthropic": "sse", "ollama": "ndjson"}
CONTENT_TYPE = {"sse": "text/event-stream", "ndjson": "application/x-ndjson"}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def write_config(project: Path, api: str, url: str, extra: str = "") -> Path:
    project.mkdir(parents=True, exist_ok=True)
    config = project / "opencode.toml"
    config.write_text(
        f'model = "mock/test-model"\n{extra}\n'
        f'[provider.mock]\napi = "{api}"\nbase_url = "{url}{API_PATHS[api]}"\n'
        'api_key = "sk-test-SECRET-1234"\nmax_retries = 1\ntimeout = 10\n',
        encoding="utf-8",
    )
    return config


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["type"] == kind]


def opencode(project: Path, *args: str, stdin: str | None = None, timeout: float = 60) -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "opencode.commands.cli", *args],
        cwd=project,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def spawn(project: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "opencode.commands.cli", *args],
        cwd=project,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )


def db_path() -> Path:
    return Path(os.environ["OPENCODE_DATA_DIR"]) / "opencode.db"


def query(sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db_path())
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def whole_db_text() -> str:
    """Every text value in the database, for checking that secrets never reach it."""
    conn = sqlite3.connect(db_path())
    try:
        out: list[str] = []
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                out.extend(str(v) for v in row)
        return "\n".join(out)
    finally:
        conn.close()


def openai_sse(*chunks: dict[str, Any], done: bool = True) -> bytes:
    lines = [f"data: {json.dumps(c)}\n\n" for c in chunks]
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def openai_tool_call(name: str, arguments: dict[str, Any], call_id: str = "call_1") -> bytes:
    """One streamed assistant step that calls tool ``name`` with ``arguments`` (a whole SSE
    body, ``[DONE]`` included)."""
    call = {
        "index": 0,
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }
    delta = {"tool_calls": [call]}
    choice = {"index": 0, "delta": delta, "finish_reason": "tool_calls"}
    return openai_sse(
        {"id": "c1", "object": "chat.completion.chunk", "model": "test-model", "choices": [choice]}
    )


def openai_text_chunks(texts: list[str], finish: str = "stop") -> bytes:
    chunks: list[dict[str, Any]] = [
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "model": "test-model",
            "choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}],
        }
        for t in texts
    ]
    chunks.append(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "model": "test-model",
            "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
        }
    )
    chunks.append(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "model": "test-model",
            "choices": [],
            "usage": {
                "prompt_tokens": 11,
                "completion_tokens": len(texts),
                "total_tokens": 11 + len(texts),
            },
        }
    )
    return openai_sse(*chunks)
