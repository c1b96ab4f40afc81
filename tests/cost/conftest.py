"""Cost tests: the loopback stream server fixture."""

from __future__ import annotations

from tests.support.fixtures import stream_server  # noqa: F401  (re-exported fixture)
