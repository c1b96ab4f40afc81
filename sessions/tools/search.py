"""The search tools' public names in one place: ``glob``, ``grep`` and ``list`` live in
``glob_tool``, ``grep_tool`` and ``list_tool``, their shared walk in ``walk``, and glob and
gitignore matching in ``opencode.sessions.globs``."""

from __future__ import annotations

from opencode.sessions.globs import expand_braces
from opencode.sessions.tools.glob_tool import MAX_GLOB_RESULTS, GlobTool, split_glob
from opencode.sessions.tools.grep_tool import (
    MAX_GREP_FILE_BYTES,
    MAX_GREP_LINE_CHARS,
    MAX_GREP_MATCHES,
    GrepTool,
)
from opencode.sessions.tools.list_tool import MAX_LIST_LINES, MAX_LIST_PER_DIR, ListTool
from opencode.sessions.tools.walk import SKIP_DIRS

__all__ = [
    "MAX_GLOB_RESULTS",
    "MAX_GREP_FILE_BYTES",
    "MAX_GREP_LINE_CHARS",
    "MAX_GREP_MATCHES",
    "MAX_LIST_LINES",
    "MAX_LIST_PER_DIR",
    "SKIP_DIRS",
    "GlobTool",
    "GrepTool",
    "ListTool",
    "expand_braces",
    "split_glob",
]
