"""The file tools ``read``, ``write`` and ``edit``.

Paths follow the shared rules of ``opencode.sessions.tools.paths``: resolved with symlinks
followed before the workspace check, sensitive paths asked about, regular files only, file I/O
in a daemon thread with a deadline. ``read`` holds at most one bounded line in memory whatever
the file's size. ``write`` and ``edit`` hand the file's bytes before the change to
``ctx.record_change`` before touching it, for undo.

The path acted on is the one resolved for the permission decision of the same call
(``ctx.approved``), never resolved a second time, and it is opened with ``open_resolved``
(every component ``O_NOFOLLOW``): a directory link flipped after the decision cannot send a
read or write anywhere else.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from opencode.sessions.tools.base import PermissionSubject, ToolContext, ToolError, ToolResult
from opencode.sessions.tools.paths import (
    BINARY_SNIFF_BYTES,
    display_path,
    looks_binary,
    open_resolved,
    path_subject,
    resolve_path,
    run_blocking,
)

DEFAULT_LIMIT = 2000
MAX_LINE_CHARS = 2000
MAX_READ_BYTES = 50 * 1024  # of numbered output per call; the model pages on with offset
MAX_DIFF_CHARS = 64 * 1024
MAX_EDIT_BYTES = 64 * 1024 * 1024  # the before-image is kept for undo
# A line up to this many bytes is decoded whole (its length reported in characters); a longer
# one keeps only its head in memory and is skipped through in chunks.
MAX_HELD_LINE_BYTES = 1024 * 1024
_SKIP_CHUNK = 1024 * 1024


def _missing(path: Path, cwd: Path) -> ToolError:
    shown = display_path(path, cwd)
    hint = ""
    parent = path.parent
    if parent.is_dir():
        try:
            names = [p.name for p in parent.iterdir()]
        except OSError:
            names = []
        close = difflib.get_close_matches(path.name, names, n=3, cutoff=0.6)
        if close:
            hint = " Did you mean: " + ", ".join(display_path(parent / n, cwd) for n in close) + "?"
    return ToolError(
        f"file not found: {shown}.{hint} Use `list` to see a directory or `glob` to find files "
        "by name."
    )


def _diff(path_shown: str, before: str, after: str) -> tuple[str, int, int]:
    """The unified diff of ``before`` -> ``after``, cut at ``MAX_DIFF_CHARS``, and its added
    and removed line counts, counted on the whole diff (counted after the cut, a large
    rewrite read as a few dozen lines)."""
    added = removed = 0
    parts: list[str] = []
    in_hunks = False  # the two file header lines come first; "+++x" later is content
    for line in difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path_shown}",
        tofile=f"b/{path_shown}",
    ):
        if line.startswith("@@"):
            in_hunks = True
        elif in_hunks and line.startswith("+"):
            added += 1
        elif in_hunks and line.startswith("-"):
            removed += 1
        parts.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    text = "".join(parts)
    if len(text) > MAX_DIFF_CHARS:
        text = text[:MAX_DIFF_CHARS] + f"\n[... diff truncated, {len(text)} chars in all ...]\n"
    return text, added, removed


def _before_image(path: Path, shown: str) -> bytes | None:
    """The current bytes of the file ``write``/``edit`` will replace; None when it is new.
    Read through ``open_resolved``: a link swapped in cannot make it another file's bytes."""
    try:
        fd = open_resolved(path, shown)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as fh:
        size = os.fstat(fd).st_size
        if size > MAX_EDIT_BYTES:
            raise ToolError(
                f"{shown} is {size} bytes; `write` and `edit` change files up to "
                f"{MAX_EDIT_BYTES} bytes (use bash for bigger ones)"
            )
        return fh.read()


def _write_file(path: Path, shown: str, data: bytes, *, make_dirs: bool) -> list[Path]:
    """Replace the content of the resolved ``path``, no component followed as a symlink;
    return the parent directories it had to create."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    created: list[Path] = []
    fd = open_resolved(path, shown, flags, make_dirs=make_dirs, created=created)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return created


def _target(args: dict[str, Any], ctx: ToolContext) -> Path:
    """The path this call acts on: the one resolved when permission was decided for this very
    call (carried in ``ctx.approved``), so a symlink flipped since cannot redirect it; resolved
    here only when the caller decided nothing (a direct call outside the tool loop)."""
    raw = _str_arg(args, "path")
    approved = ctx.approved
    if approved is not None and approved.resolved is not None:
        return approved.resolved
    return resolve_path(raw, ctx.cwd)


def _str_arg(args: dict[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str):
        raise ToolError(f"argument {key!r} must be a string")
    return value


# ---------------------------------------------------------------------------- read


class ReadTool:
    name = "read"
    description = (
        "Read a text file. Returns numbered lines (`   12\\t...`), up to `limit` lines "
        f"(default {DEFAULT_LIMIT}) starting at 1-based line `offset`; lines longer than "
        f"{MAX_LINE_CHARS} characters are cut. The footer says which lines were shown and how "
        "many the file has: page on with `offset`. Read a file before editing it. The line "
        "numbers and the tab after them are not part of the file. Binary files are refused."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "path": {
                "type": "string",
                "description": "File path, relative to the working directory or absolute.",
            },
            "offset": {
                "type": "integer",
                "minimum": 1,
                "description": "1-based line number to start at (default 1).",
            },
            "limit": {
                "type": "integer",
                "minimum": 1,
                "description": f"Maximum number of lines to return (default {DEFAULT_LIMIT}).",
            },
        },
        "required": ["path"],
    }

    def permission_subject(self, args: dict[str, Any], cwd: Path) -> PermissionSubject:
        return path_subject(str(args.get("path", "")), cwd)

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        path = _target(args, ctx)
        offset = int(args.get("offset") or 1)
        limit = int(args.get("limit") or DEFAULT_LIMIT)
        if offset < 1 or limit < 1:
            raise ToolError("offset and limit must be at least 1")
        shown = display_path(path, ctx.cwd)
        return await run_blocking(lambda: _read(path, ctx.cwd, offset, limit), f"reading {shown}")


def _lines(fh: BinaryIO) -> Iterator[tuple[bytes, int | None]]:
    """(line, None) for lines up to MAX_HELD_LINE_BYTES; (head, length in bytes) for longer
    ones, whose rest is read through in chunks and dropped, so memory stays bounded."""
    while True:
        raw = fh.readline(MAX_HELD_LINE_BYTES)
        if not raw:
            return
        if raw.endswith(b"\n") or len(raw) < MAX_HELD_LINE_BYTES:
            yield raw, None
            continue
        length = len(raw)
        head = raw[: MAX_LINE_CHARS * 4]
        del raw
        while True:
            chunk = fh.readline(_SKIP_CHUNK)
            length += len(chunk)
            if not chunk or chunk.endswith(b"\n"):
                length -= 1 if chunk else 0  # the line ending is not part of the line
                break
        yield head, length


def _read(path: Path, cwd: Path, offset: int, limit: int) -> ToolResult:
    shown = display_path(path, cwd)
    if path.is_dir():
        raise ToolError(f"{shown} is a directory, not a file; use `list` to see its contents")
    try:
        fd = open_resolved(path, shown)
    except FileNotFoundError:
        raise _missing(path, cwd) from None
    with os.fdopen(fd, "rb") as fh:
        head = fh.read(BINARY_SNIFF_BYTES)
        if looks_binary(head):
            size = os.fstat(fd).st_size
            raise ToolError(
                f"{shown} is a binary file ({size} bytes); `read` shows text files only"
            )
        fh.seek(0)
        out: list[str] = []
        used = 0
        total = 0
        last = offset - 1
        cut_by_bytes = False
        for raw, long_bytes in _lines(fh):
            total += 1
            if total < offset or total >= offset + limit or cut_by_bytes:
                continue
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if long_bytes is not None:
                line = line[:MAX_LINE_CHARS] + f"… [line cut, {long_bytes} bytes]"
            elif len(line) > MAX_LINE_CHARS:
                line = line[:MAX_LINE_CHARS] + f"… [line cut, {len(line)} chars]"
            entry = f"{total:>5}\t{line}"
            if out and used + len(entry) + 1 > MAX_READ_BYTES:
                cut_by_bytes = True
                continue
            out.append(entry)
            used += len(entry) + 1
            last = total
    meta: dict[str, Any] = {"path": str(path), "total_lines": total}
    if total == 0:
        return ToolResult(f"{shown} is empty (0 lines)", metadata=meta)
    if offset > total:
        raise ToolError(
            f"offset {offset} is past the end of {shown}, which has {total} lines; "
            "use a smaller offset"
        )
    footer = f"(showing lines {offset}-{last} of {total})"
    if last < total:
        reason = " (output size limit)" if cut_by_bytes else ""
        footer += f"; more lines{reason}: read again with offset={last + 1}"
    meta.update(first_line=offset, last_line=last)
    return ToolResult("\n".join(out) + "\n\n" + footer, metadata=meta)


# ---------------------------------------------------------------------------- write


class WriteTool:
    name = "write"
    description = (
        "Create a file or replace its whole content. Parent directories are created. "
        "Prefer `edit` for changing part of an existing file; read a file before overwriting it."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "path": {
                "type": "string",
                "description": "File path, relative to the working directory or absolute.",
            },
            "content": {"type": "string", "description": "The complete new file content."},
        },
        "required": ["path", "content"],
    }

    def permission_subject(self, args: dict[str, Any], cwd: Path) -> PermissionSubject:
        return path_subject(str(args.get("path", "")), cwd)

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        path = _target(args, ctx)
        content = _str_arg(args, "content")
        shown = display_path(path, ctx.cwd)
        if path.is_dir():
            raise ToolError(f"{shown} is a directory; give a file path")
        before = await run_blocking(lambda: _before_image(path, shown), f"reading {shown}")
        await ctx.record_change(path, before)
        data = content.encode("utf-8")

        made = await run_blocking(
            lambda: _write_file(path, shown, data, make_dirs=True), f"writing {shown}"
        )
        created = before is None
        if before is not None and looks_binary(before[:BINARY_SNIFF_BYTES]):
            diff, added, removed = f"(binary file {shown} replaced by text)\n", 0, 0
        else:
            old = "" if before is None else before.decode("utf-8", errors="replace")
            diff, added, removed = _diff(shown, old, content)
        lines = content.count("\n") + (0 if content.endswith("\n") or not content else 1)
        verb = "Created" if created else "Wrote"
        output = f"{verb} {shown} ({lines} lines, {len(data)} bytes; +{added} -{removed})"
        return ToolResult(
            output,
            metadata={
                "path": str(path),
                "created": created,
                # Rewind removes a directory only when the session made it (sessions/rewind).
                **({"created_dirs": [str(d) for d in made]} if made else {}),
                "diff": diff,
                "additions": added,
                "deletions": removed,
            },
        )


# ---------------------------------------------------------------------------- edit


class EditTool:
    name = "edit"
    description = (
        "Replace an exact piece of text in a file. `old_string` must match the file exactly, "
        "whitespace and indentation included (copy it from `read` output without the line "
        "numbers) and must occur exactly once, unless `replace_all` is true. Include enough "
        "surrounding lines to make it unique. To create a file use `write`."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "path": {
                "type": "string",
                "description": "File path, relative to the working directory or absolute.",
            },
            "old_string": {"type": "string", "description": "The exact text to replace."},
            "new_string": {"type": "string", "description": "The text to put in its place."},
            "replace_all": {
                "type": "boolean",
                "description": "Replace every occurrence instead of exactly one (default false).",
            },
        },
        "required": ["path", "old_string", "new_string"],
    }

    def permission_subject(self, args: dict[str, Any], cwd: Path) -> PermissionSubject:
        return path_subject(str(args.get("path", "")), cwd)

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        path = _target(args, ctx)
        old_string = _str_arg(args, "old_string")
        new_string = _str_arg(args, "new_string")
        replace_all = bool(args.get("replace_all", False))
        shown = display_path(path, ctx.cwd)
        check_edit_strings(old_string, new_string, shown)
        if path.is_dir():
            raise ToolError(f"{shown} is a directory, not a file")
        before = await run_blocking(lambda: _before_image(path, shown), f"reading {shown}")
        if before is None:
            raise _missing(path, ctx.cwd)
        text = edit_text(before, shown)
        after, count, first_line = plan_edit(text, old_string, new_string, replace_all, shown)
        await ctx.record_change(path, before)
        await run_blocking(
            lambda: _write_file(path, shown, after.encode("utf-8"), make_dirs=False), shown
        )
        diff, added, removed = _diff(shown, text, after)
        replaced = count if replace_all else 1
        plural = "s" if replaced != 1 else ""
        output = (
            f"Edited {shown}: replaced {replaced} occurrence{plural} (first at line "
            f"{first_line}; +{added} -{removed})"
        )
        return ToolResult(
            output,
            metadata={
                "path": str(path),
                "diff": diff,
                "replacements": replaced,
                "additions": added,
                "deletions": removed,
            },
        )


def check_edit_strings(old_string: str, new_string: str, shown: str) -> None:
    """The edit arguments that can be refused before the file is read."""
    if old_string == "":
        raise ToolError(
            f"old_string is empty; use `write` to create or overwrite {shown}, or give the "
            "exact text to replace"
        )
    if old_string == new_string:
        raise ToolError("old_string and new_string are identical; there is nothing to change")


def edit_text(before: bytes, shown: str) -> str:
    """The file's bytes as the text ``edit`` may change (binary and non-UTF-8 refused)."""
    if looks_binary(before[:BINARY_SNIFF_BYTES]):
        raise ToolError(f"{shown} is a binary file; `edit` changes text files only")
    try:
        return before.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolError(f"{shown} is not UTF-8 text; `edit` cannot change it safely") from None


def plan_edit(
    text: str, old_string: str, new_string: str, replace_all: bool, shown: str
) -> tuple[str, int, int]:
    """What ``edit`` makes of ``text``: (the new text, occurrences found, first line changed);
    ToolError when old_string is missing or not unique. Pure: the tool and the approval
    preview (``opencode.sessions.tools.preview``) share it, so the preview is the edit."""
    count = text.count(old_string)
    if count == 0 and "\r\n" in text and "\n" in old_string and "\r\n" not in old_string:
        # The model writes "\n"; a CRLF file keeps its own line endings.
        old_string = old_string.replace("\n", "\r\n")
        new_string = new_string.replace("\r\n", "\n").replace("\n", "\r\n")
        count = text.count(old_string)
    if count == 0:
        raise ToolError(
            f"old_string not found in {shown}; read the file first and copy the exact text, "
            "whitespace included"
        )
    if count > 1 and not replace_all:
        raise ToolError(
            f"old_string occurs {count} times in {shown}; include more surrounding lines to "
            "make it unique, or pass replace_all"
        )
    first_line = text[: text.index(old_string)].count("\n") + 1
    after = (
        text.replace(old_string, new_string)
        if replace_all
        else text.replace(old_string, new_string, 1)
    )
    return after, count, first_line
