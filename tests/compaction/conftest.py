"""The TUI's fixtures, for the /compact Pilot test."""

from tests.tui.conftest import make_app, project, server

__all__ = ["make_app", "project", "server"]
