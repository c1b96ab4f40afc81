"""The embedded SmolLM2 behind `opencode proxy` answers the official SDKs (no configuration at
all: the default model is local/smollm2). Marked ``realserver`` like the other real-model tests."""

from __future__ import annotations

from pathlib import Path

import anthropic
import openai
import pytest

from tests.proxy.conftest import start_proxy

pytestmark = pytest.mark.realserver


def test_sdk_clients_get_answers_from_the_embedded_model(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    proxy = start_proxy(project)
    try:
        client = openai.OpenAI(base_url=proxy.url + "/v1", api_key="x", max_retries=0, timeout=120)
        reply = client.chat.completions.create(
            model="local/smollm2",
            messages=[{"role": "user", "content": "Say hello."}],
            max_tokens=12,
            temperature=0,
            seed=7,
        )
        assert (reply.choices[0].message.content or "").strip()
        assert reply.usage is not None and reply.usage.completion_tokens > 0

        stream = anthropic.Anthropic(base_url=proxy.url, api_key="x", max_retries=0, timeout=120)
        with stream.messages.stream(
            model="local/smollm2",
            max_tokens=12,
            messages=[{"role": "user", "content": "Name a colour."}],
        ) as events:
            text = "".join(events.text_stream)
        assert text.strip()
    finally:
        proxy.stop()
