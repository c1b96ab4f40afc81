"""Build a real config (opencode.toml on disk), a real SQLite store and a hub whose sleeps are
recorded instead of slept, and drive a ResilientProvider against loopback servers."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opencode.sessions.config import Config, load_config
from opencode.sessions.events import ProviderError, ProviderEvent, TextDelta
from opencode.sessions.providers.base import ChatMessage, ChatRequest
from opencode.sessions.providers.resilience.chain import Notice
from opencode.sessions.providers.resilience.hub import LimiterRegistry, ResilienceHub
from opencode.sessions.providers.resilience.settings import load_settings
from opencode.sessions.store.db import Store
from tests.support.stream_server import Reply

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "streams"
SECRET = "sk-test-SECRET-7a6b5c4d3e2f"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def text_reply(**kw: Any) -> Reply:
    return Reply(body=fixture("openai_text.sse"), **kw)


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps({"error": {"message": message, "type": "error"}}).encode()
    return Reply(
        body=body,
        status=status,
        headers={"content-type": "application/json", **(headers or {})},
        chunked=False,
    )


def dead_url() -> str:
    """A loopback URL nothing listens on (connection refused at once)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def provider_toml(name: str, url: str, extra: str = "", api: str = "openai") -> str:
    path = "/v1" if api in ("openai", "anthropic") else ""
    return (
        f'[provider.{name}]\napi = "{api}"\nbase_url = "{url}{path}"\n'
        f'api_key = "{SECRET}"\ntimeout = 5\nmax_retries = 2\n{extra}\n'
    )


def make_config(tmp: Path, text: str, model: str = "a/m1") -> Config:
    project = tmp / "project"
    project.mkdir(parents=True, exist_ok=True)
    (project / "opencode.toml").write_text(f'model = "{model}"\n{text}', encoding="utf-8")
    return load_config(project)


@dataclass
class Harness:
    hub: ResilienceHub
    store: Store
    notices: list[Notice] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    async def ask(self, ref: str = "a/m1") -> list[ProviderEvent]:
        provider = self.hub.build_provider(ref)
        request = ChatRequest(
            model=ref.partition("/")[2], messages=[ChatMessage(role="user", content="hi")]
        )
        return [event async for event in provider.stream(request)]

    async def aclose(self) -> None:
        await self.hub.aclose()
        await self.store.close()

    async def calls(self) -> list[dict[str, Any]]:
        rows = await self.store.fetchall("SELECT * FROM provider_call ORDER BY id")
        return [dict(r) for r in rows]


async def harness(
    tmp: Path,
    text: str,
    *,
    clock: Any = None,
    limiters: LimiterRegistry | None = None,
    store: Store | None = None,
) -> Harness:
    config = make_config(tmp, text)
    store = store or await Store.open(tmp / "data" / "opencode.db")
    h = Harness(hub=None, store=store)  # type: ignore[arg-type]

    async def sleep(seconds: float) -> None:
        h.sleeps.append(seconds)

    kwargs: dict[str, Any] = {"observer": h.notices.append, "sleep": sleep}
    if clock is not None:
        kwargs["clock"] = clock
    h.hub = ResilienceHub(
        load_settings(config), store, limiters=limiters or LimiterRegistry(), **kwargs
    )
    return h


def text_of(events: list[ProviderEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def errors_of(events: list[ProviderEvent]) -> list[ProviderError]:
    return [e for e in events if isinstance(e, ProviderError)]
