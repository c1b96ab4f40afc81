"""`opencode hooks list|test`."""
