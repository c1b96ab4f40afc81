"""Target registry: SQL (repo) and the `target ...` commands."""
