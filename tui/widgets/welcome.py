"""The first screen of an empty chat: where, which model, whether it answers, which keys."""

from __future__ import annotations

from pathlib import Path


def short_path(path: Path) -> str:
    """``path`` with the home folder written ``~`` (what people recognise, and shorter)."""
    home = Path.home()
    try:
        rest = path.relative_to(home)
    except ValueError:
        return str(path)
    return "~" if not rest.parts else f"~/{rest.as_posix()}"
