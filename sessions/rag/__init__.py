"""RAG: the project's troubleshooting notes and configured folders, indexed in SQLite FTS5."""
