"""Workflow commands (filled below)."""
