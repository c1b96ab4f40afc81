"""Project instructions: the AGENTS.md files (CLAUDE.md where a folder has none) that join the
system prompt, so a project's own setup for other agents works here unchanged.

Order (stable): the global file (``$XDG_CONFIG_HOME/opencode/AGENTS.md``, else
``~/.config/opencode/AGENTS.md``), then one file per folder from the git root down to the
working directory. Each file is headed by its path. ``@path`` tokens (relative to the including
file, ``~`` expanded) pull another file in after the one that names it, up to
``MAX_INCLUDE_DEPTH`` deep; a cycle is refused and a missing file is a visible note in the
prompt, never an error. A file above ``MAX_FILE_BYTES`` is cut with a note saying so; only
that many bytes are ever read. Nothing here writes; no network.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

NAMES = ("AGENTS.md", "CLAUDE.md")
MAX_FILE_BYTES = 64 * 1024
MAX_TOTAL_BYTES = 256 * 1024
MAX_INCLUDE_DEPTH = 5

# ``@path`` where the token looks like a path (has a slash, a dot or starts with ~), not part
# of a word (mail addresses) and not inside inline code.
_INCLUDE = re.compile(r"(?<![\w`@])@(~?[\w.\-/]*[./][\w.\-/]*)")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True, slots=True)
class InstructionFile:
    """One file that joined the prompt: where, how big on disk, who included it."""

    path: Path
    size: int
    included_by: Path | None = None
    truncated: bool = False


@dataclass(slots=True)
class Instructions:
    files: list[InstructionFile] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    # Problems worth a line to the user (cut files, cycles, missing includes).
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(self.sections)


def global_instructions_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "opencode" / "AGENTS.md"


def git_root(cwd: Path) -> Path | None:
    """The nearest folder at or above ``cwd`` holding ``.git`` (a folder or a worktree file)."""
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            return folder
    return None


def instruction_paths(cwd: Path) -> list[Path]:
    """The top-level files, in prompt order: global, then git root -> cwd."""
    cwd = cwd.resolve()
    found: list[Path] = []
    global_file = global_instructions_path()
    if global_file.is_file():
        found.append(global_file)
    root = git_root(cwd) or cwd
    folders = [cwd, *cwd.parents]
    chain = list(reversed(folders[: folders.index(root) + 1])) if root in folders else [cwd]
    for folder in chain:
        for name in NAMES:
            candidate = folder / name
            if candidate.is_file():
                found.append(candidate)
                break
    return found


def load_instructions(cwd: Path) -> Instructions:
    """Every instruction file for ``cwd`` with its includes, bounded in size and depth."""
    result = Instructions()
    seen: set[Path] = set()
    budget = [MAX_TOTAL_BYTES]
    for path in instruction_paths(cwd):
        _add(path, None, 0, (), seen, budget, result)
    return result


def _add(
    path: Path,
    included_by: Path | None,
    depth: int,
    chain: tuple[Path, ...],
    seen: set[Path],
    budget: list[int],
    result: Instructions,
) -> None:
    resolved = path.resolve()
    if resolved in seen:
        return  # already in the prompt (two folders including one file): once is enough
    seen.add(resolved)
    try:
        size = resolved.stat().st_size
        limit = min(MAX_FILE_BYTES, budget[0])
        with resolved.open("rb") as handle:
            raw = handle.read(limit)
    except OSError as exc:
        note = f"[opencode: {path} could not be read: {exc.strerror or exc}]"
        result.sections.append(note)
        result.warnings.append(_warning(note))
        return
    text = raw.decode("utf-8", errors="replace")
    truncated = size > len(raw)
    budget[0] -= len(raw)
    result.files.append(InstructionFile(path, size, included_by, truncated))
    head = f"# Instructions from {path}" + (f" (included by {included_by})" if included_by else "")
    body = text.rstrip("\n")
    if truncated:
        note = (
            f"[opencode: {path} is {size:,} bytes; only the first {len(raw):,} were read. "
            "Shorten it or split it into @included files]"
        )
        body += "\n" + note
        result.warnings.append(_warning(note))
    result.sections.append(f"{head}\n\n{body}")
    for token in _includes(text):
        target = Path(token).expanduser()
        if not target.is_absolute():
            target = resolved.parent / target
        if target.resolve() in (*chain, resolved):
            note = f"[opencode: @{token} in {path} is an include cycle; not included again]"
            result.sections.append(note)
            result.warnings.append(_warning(note))
            continue
        if depth + 1 > MAX_INCLUDE_DEPTH:
            note = (
                f"[opencode: @{token} in {path} not included: includes nest at most "
                f"{MAX_INCLUDE_DEPTH} deep]"
            )
            result.sections.append(note)
            result.warnings.append(_warning(note))
            continue
        if not target.is_file():
            note = f"[opencode: @{token} in {path}: no file at {target}]"
            result.sections.append(note)
            result.warnings.append(_warning(note))
            continue
        if budget[0] <= 0:
            note = f"[opencode: @{token} in {path} not included: instructions are over budget]"
            result.sections.append(note)
            result.warnings.append(_warning(note))
            continue
        _add(target, path, depth + 1, (*chain, resolved), seen, budget, result)


def _includes(text: str) -> list[str]:
    """``@path`` tokens outside fenced code blocks and inline code, in order, once each."""
    found: list[str] = []
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        outside = re.sub(r"`[^`]*`", "", line)
        for match in _INCLUDE.finditer(outside):
            token = match.group(1).rstrip(".,;:)")
            if token and token not in found:
                found.append(token)
    return found


def system_prompt(base: str, cwd: Path) -> tuple[str, Instructions]:
    """``base`` followed by the project's instructions (``base`` alone when there are none)."""
    instructions = load_instructions(cwd)
    if not instructions.sections:
        return base, instructions
    return (
        f"{base}\n\nProject instructions (from AGENTS.md files; follow them):\n\n"
        f"{instructions.text}",
        instructions,
    )


# Warnings already given in this process: a cut or broken file is reported once, not per turn.
_WARNED: set[str] = set()


def new_warnings(instructions: Instructions | None) -> list[str]:
    """The warnings of ``instructions`` not yet given in this process."""
    if instructions is None:
        return []
    fresh = [w for w in instructions.warnings if w not in _WARNED]
    _WARNED.update(fresh)
    return fresh


def _warning(note: str) -> str:
    """The prompt's ``[opencode: ...]`` note as a line for the user."""
    return note.strip("[]").removeprefix("opencode: ")
