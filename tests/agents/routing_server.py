"""A loopback provider server that answers by reading the request: a parent's and a child's
requests (told apart by the system prompt or a marker in the prompt) get different replies.

It is ``StreamServer`` with the reply chosen by ``route(request)`` instead of by position, and
a log of when each request arrived and when its reply's last byte went out, so a test can show
that two children's model calls overlapped in time.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.engine.helpers import openai_sse, openai_text_chunks
from tests.support.stream_server import RecordedRequest, Reply, StreamServer

SUBAGENT_MARK = "You are a subagent"


@dataclass
class Logged:
    request: RecordedRequest
    received_at: float
    completed_at: float | None = None

    @property
    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = self.request.json()
        return data

    @property
    def is_child(self) -> bool:
        return SUBAGENT_MARK in system_text(self.body)

    @property
    def first_user(self) -> str:
        return first_user(self.body)


class RoutingServer(StreamServer):
    def __init__(self, route: Callable[[dict[str, Any]], Reply]) -> None:
        super().__init__()
        self.route = route
        self.log: list[Logged] = []
        self._local = threading.local()

    def _record(self, request: RecordedRequest) -> None:
        super()._record(request)
        entry = Logged(request, time.monotonic())
        with self._lock:
            self.log.append(entry)
        self._local.entry = entry  # the handler thread asks for its reply next

    def _next_reply(self) -> Reply:
        return self.route(self._local.entry.request.json())

    def _completed(self) -> None:
        super()._completed()
        self._local.entry.completed_at = time.monotonic()


def system_text(body: dict[str, Any]) -> str:
    for message in body.get("messages", []):
        if message.get("role") == "system":
            return str(message.get("content") or "")
    return str(body.get("system") or "")


def first_user(body: dict[str, Any]) -> str:
    for message in body.get("messages", []):
        if message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


def last_role(body: dict[str, Any]) -> str:
    messages = body.get("messages", [])
    return str(messages[-1].get("role")) if messages else ""


def tool_results(body: dict[str, Any]) -> list[str]:
    return [str(m.get("content")) for m in body.get("messages", []) if m.get("role") == "tool"]


def task_calls(*calls: tuple[str, str, str | None]) -> Reply:
    """One assistant step calling ``task`` once per (description, prompt, agent)."""
    items: list[tuple[str, str, dict[str, Any]]] = []
    for description, prompt, agent in calls:
        args: dict[str, Any] = {"description": description, "prompt": prompt}
        if agent:
            args["agent"] = agent
        items.append((f"call_{len(items)}_{prompt[:12]}", "task", args))
    return tool_calls(*items)


def tool_calls(*calls: tuple[str, str, dict[str, Any]]) -> Reply:
    """One assistant step with the given (call id, tool name, arguments) calls."""
    chunks: list[dict[str, Any]] = []
    for index, (call_id, name, args) in enumerate(calls):
        chunks.append(
            {
                "id": "chatcmpl-t",
                "object": "chat.completion.chunk",
                "model": "test-model",
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "tool_calls": [
                                {
                                    "index": index,
                                    "id": call_id,
                                    "type": "function",
                                    "function": {"name": name, "arguments": json.dumps(args)},
                                }
                            ]
                        },
                        "finish_reason": None,
                    }
                ],
            }
        )
    chunks.append(
        {
            "id": "chatcmpl-t",
            "object": "chat.completion.chunk",
            "model": "test-model",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
        }
    )
    chunks.append(
        {
            "id": "chatcmpl-t",
            "object": "chat.completion.chunk",
            "model": "test-model",
            "choices": [],
            "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
        }
    )
    return Reply(body=openai_sse(*chunks))


def text(*parts: str, first_byte_delay: float = 0.0, delay: float = 0.0) -> Reply:
    return Reply(
        body=openai_text_chunks(list(parts)), first_byte_delay=first_byte_delay, delay=delay
    )


def server_error() -> Reply:
    return Reply(
        body=b'{"error":{"message":"upstream exploded","type":"server_error"}}',
        status=500,
        headers={"content-type": "application/json"},
        chunked=False,
    )
