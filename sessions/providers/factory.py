"""Pick the wire adapter for a ``[provider.NAME]`` table.

Each adapter is imported only when a provider of its kind is made, so a run that talks to one
API never imports the others (and never imports llama-cpp unless ``api = "local"``).
"""

from __future__ import annotations

from opencode.sessions.providers.base import Provider, ProviderConfig


class ProviderSetupError(Exception):
    """The provider cannot be built from its configuration."""


def make_provider(config: ProviderConfig) -> Provider:
    if config.api == "openai":
        from opencode.sessions.providers.openai_chat import OpenAIChatProvider

        return OpenAIChatProvider(config)
    if config.api == "anthropic":
        from opencode.sessions.providers.anthropic_messages import AnthropicMessagesProvider

        return AnthropicMessagesProvider(config)
    if config.api == "ollama":
        from opencode.sessions.providers.ollama import OllamaProvider

        return OllamaProvider(config)
    if config.api == "local":
        try:
            from opencode.sessions.providers.local import LocalProvider
        except ImportError as exc:  # a partial install without the local module
            raise ProviderSetupError(
                f'provider {config.name}: api = "local" is not available in this install '
                f"({exc}); reinstall opencode or pick another provider in opencode.toml"
            ) from exc
        return LocalProvider(config)
    raise ProviderSetupError(
        f"provider {config.name}: unknown api {config.api!r}; "
        'expected one of "openai", "anthropic", "ollama", "local"'
    )
