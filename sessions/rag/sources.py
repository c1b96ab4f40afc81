"""Which folders are indexed, and how a file becomes searchable sections.

The project's own ``RAG/`` folder (beside the working directory) is always indexed when it
exists; ``[rag] paths = [...]`` adds more (a target's synced docs). A markdown file is split at
its ``#``/``##`` headings so a hit points at the section that answers, not at a whole file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opencode.sessions.config import Config

SUFFIXES = frozenset({".md", ".markdown", ".txt", ".rst"})
MAX_FILE_BYTES = 1_000_000
_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True, slots=True)
class Section:
    anchor: str
    title: str
    body: str


def rag_roots(config: Config, cwd: Path) -> list[Path]:
    """``cwd/RAG`` (if present) then ``[rag] paths``, resolved against ``cwd``, deduplicated."""
    from opencode.sessions.config import ConfigError

    roots: list[Path] = []
    own = cwd / "RAG"
    if own.is_dir():
        roots.append(own.resolve())
    paths = config.section("rag").get("paths", [])
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ConfigError(
            f"[rag] paths must be a list of folder names (strings), got {paths!r}; "
            'e.g. paths = ["docs", "../web/RAG"]'
        )
    for raw in paths:
        path = Path(raw).expanduser()
        path = (path if path.is_absolute() else cwd / path).resolve()
        if path not in roots:
            roots.append(path)
    return roots


def files_under(root: Path) -> Iterator[Path]:
    """Text files under ``root``, hidden folders and oversized files left out."""
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() not in SUFFIXES or not path.is_file() or path.is_symlink():
            continue
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
        except OSError:
            continue
        yield path


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def sections(text: str, fallback_title: str) -> list[Section]:
    """Split markdown at headings: the file's ``#`` title prefixes each section's title.

    Text before the first sub-heading is the file's own section (anchor ``""``)."""
    lines = text.splitlines()
    file_title = fallback_title
    for line in lines:
        match = _HEADING.match(line)
        if match and len(match.group(1)) == 1:
            file_title = match.group(2)
            break
    found: list[Section] = []
    anchor, heading = "", file_title
    body: list[str] = []
    seen: dict[str, int] = {}
    in_fence = False

    def close() -> None:
        content = "\n".join(body).strip()
        if content or anchor == "":
            found.append(Section(anchor, heading, content))

    for line in lines:
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match and len(match.group(1)) > 1:
            close()
            base = slug(match.group(2))
            seen[base] = seen.get(base, 0) + 1
            anchor = base if seen[base] == 1 else f"{base}-{seen[base]}"
            heading = f"{file_title} › {match.group(2)}"
            body = []
        elif match and match.group(2) == file_title and not body and anchor == "":
            continue  # the file's own title line: already the section's title
        else:
            body.append(line)
    close()
    return [s for s in found if s.body or len(found) == 1]
