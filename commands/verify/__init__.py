"""Verification history commands (`verify list`, `verify show`)."""
