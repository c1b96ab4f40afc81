"""Provider tests: the loopback stream server and small helpers to drive an adapter."""

from __future__ import annotations

from tests.support.fixtures import stream_server  # noqa: F401  (re-exported fixture)
