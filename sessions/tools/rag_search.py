"""``rag_search``: the model searches the project's troubleshooting notes (read-only).

The tool opens the configured database itself (tools get no store in their context), brings the
index up to date with the folders (only changed files are re-read) and returns ranked hits with
the matched words marked. It never changes a project file, so it is allowed by default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.sessions.tools.base import PermissionSubject, ToolContext, ToolError, ToolResult

DEFAULT_LIMIT = 5


class RagSearchTool:
    name = "rag_search"
    description = (
        "Search the project's troubleshooting notes and indexed docs (RAG/ and the folders in "
        "[rag] paths) by keywords, e.g. an error message. Returns the best matching sections, "
        "each with where it is (file#section or note id) and an excerpt with the matched "
        'words in **bold**. Query syntax is SQLite FTS5: words (all must match), "exact '
        'phrase", OR, NOT, prefix*; plain words always work.'
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "Keywords or an error message."},
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": 20,
                "description": f"How many hits (default {DEFAULT_LIMIT}).",
            },
        },
        "required": ["query"],
    }

    def __init__(self, db_path: Path | None = None) -> None:
        # None: the database of the config loaded for the working directory.
        self.db_path = db_path

    def permission_subject(self, args: dict[str, Any], cwd: Path) -> PermissionSubject:
        return PermissionSubject(str(args.get("query", "")).strip())

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        from opencode.sessions.config import ConfigError, load_config
        from opencode.sessions.rag.index import RagError, RagIndex
        from opencode.sessions.rag.sources import rag_roots
        from opencode.sessions.store.db import Store, StoreError

        query = str(args.get("query", ""))
        limit = int(args.get("limit") or DEFAULT_LIMIT)
        try:
            # Quietly: unknown-key warnings were shown when the session's config was loaded,
            # and stderr belongs to the TUI's screen. ``load_config`` is pure: re-reading a
            # config file the model may have rewritten changes nothing the session runs under
            # (its sandbox and permissions were fixed when the engine started).
            config = load_config(ctx.cwd, warn=lambda line: None)
            store = await Store.open(self.db_path or config.db_path)
        except (ConfigError, StoreError) as exc:
            raise ToolError(f"rag_search: {exc}") from None
        try:
            index = RagIndex(store)
            await index.refresh(rag_roots(config, ctx.cwd))
            result = await index.search(query, limit=limit)
        except (RagError, ConfigError, StoreError) as exc:
            raise ToolError(f"rag_search: {exc}") from None
        finally:
            await store.close()
        if not result.hits:
            return ToolResult(f"no notes match {query!r}", metadata={"hits": 0})
        lines = [f"({result.note})"] if result.note else []
        for hit in result.hits:
            lines.append(f"[{hit.id}] {hit.title} — {hit.where}\n    {hit.snippet}")
        return ToolResult(
            "\n".join(lines), metadata={"hits": len(result.hits), "mode": result.mode}
        )
