"""The TUI fixtures (an app on a real config and store, a loopback provider) for the TUI
test of custom commands."""

from tests.tui.conftest import make_app, project, server

__all__ = ["make_app", "project", "server"]
