"""File plumbing for sync: sha256, tree listings, hash-based copy plans, atomic copies and
relative-link checks in markdown."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

_SKIP_DIRS = {".git", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_files(root: Path) -> list[str]:
    """Relative POSIX paths of regular files under ``root`` (sorted; caches skipped)."""
    if not root.is_dir():
        return []
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in filenames:
            full = Path(dirpath) / name
            if full.is_file() and not full.is_symlink():
                found.append(full.relative_to(root).as_posix())
    return sorted(found)


@dataclass(frozen=True, slots=True)
class CopyItem:
    component: str
    src: Path
    dst: Path


def plan_copy(component: str, src_root: Path, dst_root: Path, complete: bool) -> list[CopyItem]:
    """Files whose bytes differ (by sha256) or are missing in the target; all with complete."""
    items = []
    for rel in tree_files(src_root):
        src, dst = src_root / rel, dst_root / rel
        if complete or not dst.is_file() or sha256_file(src) != sha256_file(dst):
            items.append(CopyItem(component, src, dst))
    return items


def atomic_copy(src: Path, dst: Path) -> None:
    """Copy through a temp file in the destination folder, so a crash never leaves half a file."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.opencode-tmp")
    shutil.copyfile(src, tmp)
    shutil.copymode(src, tmp)
    os.replace(tmp, dst)


def atomic_write(dst: Path, data: bytes, mode: int | None = None) -> None:
    """Write through an fsynced temp file. ``mode`` None keeps the mode of an existing ``dst``
    (a 0600 opencode.toml holding keys must not become world-readable) and gives a new file
    the umask's default."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.opencode-tmp")
    if mode is None:
        try:
            mode = stat.S_IMODE(dst.stat().st_mode)
        except FileNotFoundError:
            pass
    # a leftover temp file would keep its old (maybe wider) mode: start from a fresh one,
    # private until it has its final mode
    tmp.unlink(missing_ok=True)
    fd = os.open(
        tmp,
        os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
        0o600 if mode is not None else 0o666,
    )
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        if mode is not None:
            os.fchmod(handle.fileno(), mode & 0o7777)
        os.fsync(handle.fileno())
    os.replace(tmp, dst)


@dataclass(frozen=True, slots=True)
class TreeComparison:
    source_count: int
    matched: int
    missing: list[str]
    different: list[str]
    extra: list[str]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.different


def compare_trees(src_root: Path, dst_root: Path) -> TreeComparison:
    src = tree_files(src_root)
    dst = set(tree_files(dst_root))
    missing = [r for r in src if r not in dst]
    different = [
        r for r in src if r in dst and sha256_file(src_root / r) != sha256_file(dst_root / r)
    ]
    extra = sorted(dst - set(src))
    return TreeComparison(
        len(src), len(src) - len(missing) - len(different), missing, different, extra
    )


# [text](target) and [text]: target reference definitions; images too.
_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REF_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)


def broken_links(markdown_file: Path) -> list[str]:
    """Relative links in a markdown file whose target file does not exist (code blocks ignored).

    URLs, mail links and pure ``#anchors`` are not checked: they need the network or a renderer.
    """
    try:
        text = markdown_file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return [f"(unreadable: {exc})"]
    text = _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)  # keep line numbers
    broken = []
    for match in [*_INLINE_LINK.finditer(text), *_REF_LINK.finditer(text)]:
        link = match.group(1)
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", link) or link.startswith(("#", "//")):
            continue
        path_part = link.split("#", 1)[0].split("?", 1)[0]
        if not path_part:
            continue
        if path_part.startswith("/"):
            continue  # site-absolute: depends on where the docs are served
        if not (markdown_file.parent / path_part).exists():
            line = text.count("\n", 0, match.start()) + 1
            broken.append(f"{markdown_file.name}:{line}: {link}")
    return broken
