"""``@`` completion in the prompt: the suggestion list and the project's file index behind it.

Typing ``@`` and some characters opens a list of project files ranked by a fuzzy match
(``opencode.sessions.mentions.FileIndex``: basename matches first, shorter paths first). The
file list is made off the event loop (``git ls-files`` in a subprocess, or a ``.gitignore``-aware
walk and the index in a thread) the first time ``@`` is typed, and again in the background when
it is older than ``STALE_S``, while the old one keeps serving; ranking is a few regular
expression scans over one string, so typing stays fast in a 50k-file repository.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path

from textual.widgets import OptionList

from opencode.sessions.mentions import FileIndex, project_files

STALE_S = 30.0
MAX_SHOWN = 8

# The mention being typed at the cursor: ``@`` at a word start, then a path so far.
_TYPING = re.compile(r'(?:^|(?<=[\s(\[{<]))@"?([^\s"]*)$')


@dataclass(frozen=True, slots=True)
class Typing:
    """The mention under the cursor: it starts at ``column`` (the ``@``) on the cursor's row."""

    column: int
    query: str


def mention_at(line_before_cursor: str) -> Typing | None:
    match = _TYPING.search(line_before_cursor)
    if match is None:
        return None
    return Typing(match.start(), match.group(1))


def completion_text(path: str) -> str:
    """What replaces the typed mention: a file ends the word, a directory keeps completing."""
    mention = f'@"{path}"' if any(c.isspace() for c in path) else f"@{path}"
    return mention if path.endswith("/") else mention + " "


class SuggestionBox(OptionList, can_focus=False):
    """A list of completions under the prompt, shown while it has the ``-visible`` class.

    The base of the ``@`` list and the ``/`` list (``widgets/prompt.py``); each is looked up
    by its own class, so neither is ever taken for the other."""

    DEFAULT_CSS = """
    SuggestionBox {
        display: none;
        height: auto;
        max-height: 10;
        border: none;
        padding: 0 1;
        background: $boost;
    }
    SuggestionBox.-visible { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        # File names are shown as they are: ``app/[slug]/page.tsx`` is not markup.
        super().__init__(id=id, markup=False)


class MentionSuggestions(SuggestionBox):
    """The ``@`` list: project files matching the mention being typed."""


class FileCompleter:
    """The file index of one working directory, loaded lazily and refreshed when stale."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.index: FileIndex | None = None
        self.loaded_at = float("-inf")
        self.loading = False
        self.error: str | None = None

    def needs_load(self) -> bool:
        return not self.loading and time.monotonic() - self.loaded_at > STALE_S

    async def load(self) -> None:
        """List the files and build the index, off the event loop."""
        self.loading = True
        try:
            files = await project_files(self.cwd)
            self.index = await asyncio.to_thread(FileIndex, files)
            self.error = None
        except OSError as exc:  # an unreadable folder: say so in the list, keep the old one
            self.error = f"cannot list files in {self.cwd}: {exc.strerror or exc}"
        finally:
            self.loaded_at = time.monotonic()
            self.loading = False

    def rank(self, query: str, limit: int = MAX_SHOWN) -> list[str] | None:
        """The best matches, or None while the first listing is still being made."""
        if self.index is None:
            return None
        return self.index.rank(query, limit)
