"""Session commands: list, show, export (CLI and slash)."""
