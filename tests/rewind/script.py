"""A scripted OpenAI-wire provider for rewind tests: replies that call tools or answer in
text, served by the real loopback ``StreamServer``; and an in-process engine on a project."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from opencode.sessions.config import load_config
from opencode.sessions.engine import Engine
from opencode.sessions.permissions_api import PermissionAnswer, PermissionRequest
from tests.engine.helpers import openai_text_chunks, write_config
from tests.support.stream_server import Reply

_calls = 0


def _sse(chunks: list[dict[str, Any]]) -> bytes:
    lines = [f"data: {json.dumps(c)}\n\n" for c in chunks]
    return ("".join(lines) + "data: [DONE]\n\n").encode()


def tool_reply(name: str, **args: Any) -> Reply:
    """One step that calls tool ``name`` with ``args`` (finish: tool_calls)."""
    global _calls
    _calls += 1
    head = {"id": "chatcmpl-t", "object": "chat.completion.chunk", "model": "test-model"}
    call = {
        "index": 0,
        "id": f"call_{_calls}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }
    return Reply(
        body=_sse(
            [
                {**head, "choices": [{"index": 0, "delta": {"tool_calls": [call]}}]},
                {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
            ]
        )
    )


def text_reply(text: str) -> Reply:
    return Reply(body=openai_text_chunks([text]))


async def never_ask(request: PermissionRequest) -> PermissionAnswer:
    raise AssertionError(f"unexpected permission question: {request}")


async def open_engine(project: Path, url: str, extra: str = "") -> Engine:
    write_config(project, "openai", url, extra)
    engine = Engine(load_config(project), project, allow_all=True)
    await engine.open(never_ask)
    return engine


def db_rows(engine: Engine, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(engine.config.db_path)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def user_messages(engine: Engine, session_id: str) -> list[str]:
    return [
        r["id"]
        for r in db_rows(
            engine,
            "SELECT id FROM message WHERE session_id = ? AND role = 'user' ORDER BY id",
            (session_id,),
        )
    ]
