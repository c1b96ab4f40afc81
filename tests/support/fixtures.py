"""Pytest fixtures built on the support modules (imported into tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stream_server import StreamServer


@pytest.fixture
def stream_server() -> Iterator[StreamServer]:
    """A started loopback ``StreamServer`` with no replies yet; add them with ``.add()``."""
    server = StreamServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
