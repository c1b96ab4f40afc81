"""Cost tests: the loopback stream server, and the TUI tests' app fixtures for the meter."""

from __future__ import annotations

from tests.support.fixtures import stream_server  # noqa: F401  (re-exported fixture)
from tests.tui.conftest import make_app, project, server  # noqa: F401  (re-exported fixtures)
