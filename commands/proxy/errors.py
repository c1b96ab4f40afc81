"""Failures the proxy turns into each wire format's own error shape."""

from __future__ import annotations

from opencode.sessions.events import ProviderError


class BadRequest(ValueError):
    """The client's request is malformed or asks for what the proxy cannot carry; the message
    names the field. Answered with HTTP 400."""


class UpstreamFailed(Exception):
    """The upstream provider failed before the reply began; answered with its status (or 502)."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(error.message)
        self.error = error

    @property
    def status(self) -> int:
        status = self.error.status
        return status if status is not None and 400 <= status < 600 else 502
