"""Adapter selection from ``[provider.NAME] api``, with lazy imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from opencode.sessions.providers.anthropic_messages import AnthropicMessagesProvider
from opencode.sessions.providers.factory import ProviderSetupError, make_provider
from opencode.sessions.providers.ollama import OllamaProvider
from opencode.sessions.providers.openai_chat import OpenAIChatProvider
from tests.providers.helpers import config


@pytest.mark.parametrize(
    ("api", "kind"),
    [
        ("openai", OpenAIChatProvider),
        ("anthropic", AnthropicMessagesProvider),
        ("ollama", OllamaProvider),
    ],
)
async def test_dispatch_on_api(api: str, kind: type) -> None:
    provider = make_provider(config(api, "http://127.0.0.1:9"))  # type: ignore[arg-type]
    assert isinstance(provider, kind)
    assert provider.config.api == api
    await provider.aclose()


def test_unknown_api_is_a_clear_error() -> None:
    with pytest.raises(ProviderSetupError, match=r"provider mock: unknown api 'grpc'"):
        make_provider(config("grpc", "http://127.0.0.1:9"))  # type: ignore[arg-type]


def test_only_the_chosen_adapter_is_imported() -> None:
    code = (
        "import sys\n"
        "from opencode.sessions.providers.base import ProviderConfig\n"
        "from opencode.sessions.providers.factory import make_provider\n"
        "make_provider(ProviderConfig('o', 'ollama', 'http://127.0.0.1:9'))\n"
        "mods = [m for m in sys.modules if m.startswith('opencode.sessions.providers.')]\n"
        "print(sorted(mods))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "opencode.sessions.providers.ollama" in out
    assert "openai_chat" not in out and "anthropic_messages" not in out
    assert "opencode.sessions.providers.local" not in out


async def test_local_dispatch_is_lazy_and_loads_nothing_up_front() -> None:
    from opencode.sessions.providers.local import LocalProvider

    provider = make_provider(config("local", "http://127.0.0.1:9"))
    assert isinstance(provider, LocalProvider)
    await provider.aclose()
