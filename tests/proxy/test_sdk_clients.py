"""The official `openai` and `anthropic` SDKs talk to a real `opencode proxy`, which forwards to
a loopback upstream replaying recorded OpenAI bytes (so the Anthropic client also proves the
wire translation), and correction rules rewrite what they receive."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.engine.helpers import db_path, opencode
from tests.proxy.conftest import Proxy, sse, start_proxy, write_project
from tests.support.stream_server import Reply, StreamServer

HELLO = "Hello! How can I help you today?"


def openai_client(proxy: Proxy, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=key, max_retries=0, timeout=20)


def anthropic_client(proxy: Proxy, key: str = "unused") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=proxy.url, api_key=key, max_retries=0, timeout=20)


def recorded_text() -> str:
    """The text the recorded openai_text.sse stream carries."""
    from tests.engine.helpers import fixture

    out = []
    for line in fixture("openai_text.sse").decode().splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[6:])["choices"]:
                out.append(choice["delta"].get("content") or "")
    return "".join(out)


def test_openai_sdk_streams_text_with_usage(proxy: Proxy, upstream: StreamServer) -> None:
    upstream.add(sse("openai_text.sse"))
    stream = openai_client(proxy).chat.completions.create(
        model="mock/test-model",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == recorded_text()
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    sent = upstream.requests[0].json()
    assert sent["model"] == "test-model"
    assert sent["messages"][0] == {"role": "system", "content": "be brief"}
    # the upstream key is opencode's, never the client's
    assert upstream.requests[0].headers["authorization"] == "Bearer sk-upstream-SECRET-99"


def test_openai_sdk_non_streaming_tool_call(proxy: Proxy, upstream: StreamServer) -> None:
    upstream.add(sse("openai_tool_call.sse"))
    reply = openai_client(proxy).chat.completions.create(
        model="mock/test-model",
        messages=[{"role": "user", "content": "read the file"}],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "read",
                    "description": "read a file",
                    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
                },
            }
        ],
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "read"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments)["path"].startswith("src/")  # type: ignore[union-attr]
    assert upstream.requests[0].json()["tools"][0]["function"]["name"] == "read"


def test_anthropic_sdk_streams_from_an_openai_upstream(
    proxy: Proxy, upstream: StreamServer
) -> None:
    upstream.add(sse("openai_text.sse"))
    client = anthropic_client(proxy)
    with client.messages.stream(
        model="mock/test-model",
        max_tokens=100,
        system="be brief",
        messages=[{"role": "user", "content": "hi"}],
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == recorded_text()
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0
    assert upstream.requests[0].json()["messages"][0]["content"] == "be brief"


def test_anthropic_sdk_non_streaming_tool_use(proxy: Proxy, upstream: StreamServer) -> None:
    upstream.add(sse("openai_tool_call.sse"))
    message = anthropic_client(proxy).messages.create(
        model="mock/test-model",
        max_tokens=100,
        messages=[{"role": "user", "content": "read it"}],
        tools=[{"name": "read", "description": "read", "input_schema": {"type": "object"}}],
    )
    assert message.stop_reason == "tool_use"
    block = message.content[-1]
    assert block.type == "tool_use" and block.name == "read"
    assert block.input["path"].startswith("src/")  # type: ignore[index]


def test_tool_results_round_trip_through_both_wires(proxy: Proxy, upstream: StreamServer) -> None:
    upstream.add(sse("openai_text.sse"))
    anthropic_client(proxy).messages.create(
        model="mock/test-model",
        max_tokens=50,
        messages=[
            {"role": "user", "content": "read a.py"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "read", "input": {"p": 1}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x = 1"}],
            },
        ],
    )
    sent = upstream.requests[0].json()["messages"]
    assert sent[1]["tool_calls"][0]["id"] == "t1"
    assert sent[2] == {"role": "tool", "tool_call_id": "t1", "content": "x = 1"} or (
        sent[2]["role"] == "tool" and sent[2]["content"] == "x = 1"
    )


def test_rules_rewrite_what_sdk_clients_receive_and_are_logged(
    tmp_path: Path, upstream: StreamServer
) -> None:
    project = tmp_path / "proj"
    write_project(project, upstream.url)
    word = recorded_text().split()[0].strip("!,.")
    assert opencode(project, "patch", "add", word, "Howdy").code == 0
    running = start_proxy(project)
    try:
        upstream.add(sse("openai_text.sse", chunk_size=7))
        stream = openai_client(running).chat.completions.create(
            model="mock/test-model", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == recorded_text().replace(word, "Howdy", 1)
        # A rule added while the proxy runs applies to the next request, no restart.
        # Rules see the model's text, not each other's output.
        assert opencode(project, "patch", "add", "help", "assist").code == 0
        upstream.add(sse("openai_text.sse"))
        reply = openai_client(running).chat.completions.create(
            model="mock/test-model", messages=[{"role": "user", "content": "hi"}]
        )
        expected = recorded_text().replace(word, "Howdy", 1).replace("help", "assist")
        assert reply.choices[0].message.content == expected
    finally:
        running.stop()
    rows = (
        sqlite3.connect(db_path())
        .execute(
            "SELECT rule_id, request_id, before_excerpt, after_excerpt FROM correction_log "
            "ORDER BY id"
        )
        .fetchall()
    )
    assert [r[0] for r in rows] == ["1", "1", "2"]
    assert all(r[1].startswith("req_") for r in rows)
    assert rows[0][2:] == (word, "Howdy")


def test_upstream_errors_pass_through_with_status_and_wire_shape(
    proxy: Proxy, upstream: StreamServer
) -> None:
    body = fixture_json("openai_401.json")
    upstream.add(
        Reply(body=body, status=401, headers={"content-type": "application/json"}, chunked=False)
    )
    with pytest.raises(openai.AuthenticationError) as raised:
        openai_client(proxy).chat.completions.create(
            model="mock/test-model", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    assert raised.value.status_code == 401
    assert "sk-upstream-SECRET" not in str(raised.value.body)
    with pytest.raises(anthropic.AuthenticationError) as raised_a:
        anthropic_client(proxy).messages.create(
            model="mock/test-model", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    assert raised_a.value.status_code == 401


def fixture_json(name: str) -> bytes:
    from tests.engine.helpers import fixture

    return fixture(name)


def test_malformed_requests_get_400_in_each_wire_shape(proxy: Proxy) -> None:
    reply = httpx.post(proxy.url + "/v1/chat/completions", json={"model": "m"})
    assert reply.status_code == 400
    assert "messages" in reply.json()["error"]["message"]
    reply = httpx.post(
        proxy.url + "/v1/messages", json={"model": "m", "messages": [{"role": "user"}]}
    )
    assert reply.status_code == 400
    assert reply.json()["type"] == "error" and "max_tokens" in reply.json()["error"]["message"]
    reply = httpx.post(
        proxy.url + "/v1/chat/completions", content=b"{not json", headers={"content-type": "x"}
    )
    assert reply.status_code == 400 and "not valid JSON" in reply.json()["error"]["message"]
    image = [{"type": "image_url", "image_url": {"url": "data:,"}}]
    reply = httpx.post(
        proxy.url + "/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": image}]},
    )
    assert reply.status_code == 400 and "image_url" in reply.json()["error"]["message"]


def test_models_and_health(proxy: Proxy) -> None:
    models = openai_client(proxy).models.list()
    assert {m.id for m in models.data} >= {"mock/test-model", "mock/other-model"}
    health = httpx.get(proxy.url + "/health").json()
    assert health["status"] == "ok" and health["database"] == "ok"


def test_token_is_required_when_set(tmp_path: Path, upstream: StreamServer) -> None:
    project = tmp_path / "proj"
    write_project(project, upstream.url)
    running = start_proxy(project, "--token", "tok-123456")
    try:
        upstream.add(sse("openai_text.sse"))
        with pytest.raises(openai.AuthenticationError):
            openai_client(running, "wrong").chat.completions.create(
                model="mock/test-model", messages=[{"role": "user", "content": "hi"}]
            )
        reply = anthropic_client(running, "tok-123456").messages.create(
            model="mock/test-model", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
        assert reply.content[0].text == recorded_text()  # type: ignore[union-attr]
    finally:
        running.stop()


def test_a_client_that_disconnects_cancels_the_upstream(
    proxy: Proxy, upstream: StreamServer
) -> None:
    pieces = [f"word{i} " for i in range(60)]
    body = (
        "".join(
            "data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": p}}]}) + "\n\n"
            for p in pieces
        )
        + 'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
    )
    upstream.add(
        Reply(body=body.encode(), headers={"content-type": "text/event-stream"}, delay=0.05)
    )
    started = time.monotonic()
    with httpx.stream(
        "POST",
        proxy.url + "/v1/chat/completions",
        json={
            "model": "mock/test-model",
            "stream": True,
            "messages": [{"role": "user", "content": "x"}],
        },
        timeout=10,
    ) as reply:
        lines = reply.iter_lines()
        got = [next(lines) for _ in range(6)]
    assert any("word" in line for line in got)
    # The whole body takes ~3 s to send; an upstream left running would finish it.
    time.sleep(max(0.0, started + 4.0 - time.monotonic()))
    assert upstream.completed_at == [], "the upstream stream ran on after the client left"


def test_the_proxy_forwards_without_rules_when_the_database_is_damaged(
    tmp_path: Path, upstream: StreamServer
) -> None:
    project = tmp_path / "proj"
    write_project(project, upstream.url)
    db = db_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    running = start_proxy(project)
    try:
        upstream.add(sse("openai_text.sse"))
        reply = openai_client(running).chat.completions.create(
            model="mock/test-model", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content == recorded_text()
        assert httpx.get(running.url + "/health").json()["database"] == "unavailable"
    finally:
        err = running.stderr()
    assert "database unavailable" in err and "forwarding without correction rules" in err


def test_opencode_itself_can_use_the_proxy_as_its_provider(
    tmp_path: Path, proxy: Proxy, upstream: StreamServer
) -> None:
    upstream.add(sse("openai_text.sse"))
    client_project = tmp_path / "client"
    client_project.mkdir()
    (client_project / "opencode.toml").write_text(
        'model = "viaproxy/mock/test-model"\n'
        f'[provider.viaproxy]\napi = "openai"\nbase_url = "{proxy.url}/v1"\nmax_retries = 0\n',
        encoding="utf-8",
    )
    run = opencode(client_project, "run", "--format", "json", "hi")
    assert run.code == 0, run.stderr
    assert "".join(e["text"] for e in run.of_type("text")) == recorded_text()
