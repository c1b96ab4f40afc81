"""What a ``write`` or ``edit`` call would change, shown before it is approved.

``preview_change`` reads the file the call names (without changing anything) and returns the
unified diff the call would apply: for ``write`` the current content against the new one (a new
file: its line count and first lines), for ``edit`` the result of the edit tool's own
``plan_edit``, so what the user approves is what runs. A call the tool would refuse (old string
not found, a binary file, a directory) comes back with ``error`` set to the tool's own message.
Files past ``MAX_PREVIEW_BYTES`` are not diffed (the user is told their size); the diff itself
is bounded by the tools' ``MAX_DIFF_CHARS``. Reading runs in a daemon thread with a deadline
(``run_blocking``): a FIFO or a stuck network mount cannot hold the caller up. Secrets are
scrubbed from what is shown (``sessions.secrets.scrub``): overwriting ``.env`` shows that a
key changes, not the key.

The preview reads the current file only where the ``read`` tool could read it without asking
(``may_read``; by default: inside the working directory and not sensitive, see
``paths.sensitive_reason``). A write to ``.env``, to ``~/.ssh/id_rsa`` or through a symlink
that leads out of the project would otherwise put that file on the screen before anything was
approved; for those the modal shows what the call brings (the new content, the edit's strings)
and says why the current content is not shown.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from opencode.sessions.secrets import scrub
from opencode.sessions.tools.base import ToolError
from opencode.sessions.tools.files import (
    _diff,
    _missing,
    check_edit_strings,
    edit_text,
    plan_edit,
)
from opencode.sessions.tools.paths import (
    BINARY_SNIFF_BYTES,
    display_path,
    is_inside,
    looks_binary,
    open_regular,
    regular_size,
    resolve_path,
    run_blocking,
    sensitive_reason,
)

MayRead = Callable[[Path], bool]

PREVIEWED_TOOLS = ("write", "edit")
MAX_PREVIEW_BYTES = 2 * 1024 * 1024  # per side; past it the size is shown, not a diff
# Of a new file's content: all of it up to what a diff may show. It was 40 lines, so line 41
# of a new script was approved unseen (the modal scrolls; what it shows must be what runs).
HEAD_LINES = 2000
HEAD_CHARS = 64 * 1024
PREVIEW_DEADLINE_S = 5.0


@dataclass(frozen=True, slots=True)
class ChangePreview:
    """The change a ``write``/``edit`` call would make to ``path`` (as shown to the user)."""

    path: str
    diff: str = ""  # unified diff; "" for a new file or when not computed
    new_file: bool = False
    lines: int = 0  # lines of the new content (write) or of the file after the edit
    head: str = ""  # a new file's first HEAD_LINES lines (HEAD_CHARS at most)
    additions: int = 0
    deletions: int = 0
    error: str | None = None  # why the call would fail (the tool's own words)
    note: str | None = None  # why no diff is shown although the call may succeed


def _label(shown: str) -> str:
    """The path as a diff header names it: escaped where it holds a newline or another
    unprintable character, which would otherwise add lines of the path's choosing to the diff
    (a file named "x\n+++ b/safe.txt")."""
    return shown if shown.isprintable() else repr(shown)[1:-1]


def _head(content: str) -> str:
    return "\n".join(content[:HEAD_CHARS].splitlines()[:HEAD_LINES])


def _line_count(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def _current(path: Path, shown: str) -> bytes | None:
    """The file's bytes now, None when it does not exist; ToolError for a directory, a
    special file, or one past MAX_PREVIEW_BYTES (its size in the message)."""
    size = regular_size(path, shown)
    if size is None:
        return None
    if size > MAX_PREVIEW_BYTES:
        raise _TooLarge(f"{shown} is {size:,} bytes now: too large to show a diff")
    try:
        fd = open_regular(path, shown)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as fh:
        return fh.read(MAX_PREVIEW_BYTES + 1)


class _TooLarge(Exception):
    pass


def _preview_write(path: Path, shown: str, content: str) -> ChangePreview:
    lines = _line_count(content)
    if len(content) > MAX_PREVIEW_BYTES:
        head = _head(content)
        note = f"the new content is {len(content):,} characters: too large to show a diff"
        try:
            new_file = regular_size(path, shown) is None
        except ToolError as exc:
            return ChangePreview(shown, error=str(exc))
        return ChangePreview(shown, new_file=new_file, lines=lines, head=head, note=note)
    try:
        before = _current(path, shown)
    except _TooLarge as exc:
        head = _head(content)
        return ChangePreview(shown, lines=lines, head=head, note=str(exc))
    if before is None:
        head = _head(content)
        return ChangePreview(shown, new_file=True, lines=lines, head=head, additions=lines)
    if looks_binary(before[:BINARY_SNIFF_BYTES]):
        head = _head(content)
        note = f"{shown} is a binary file now; it will be replaced by this text"
        return ChangePreview(shown, lines=lines, head=head, note=note)
    diff, added, removed = _diff(_label(shown), before.decode("utf-8", errors="replace"), content)
    return ChangePreview(shown, diff=diff, lines=lines, additions=added, deletions=removed)


def _hidden_note(path: Path, shown: str, cwd: Path) -> str:
    why = sensitive_reason(path) or (
        "outside the working directory" if not is_inside(path, cwd) else ""
    )
    return f"the current content of {shown} is not shown: reading it needs permission" + (
        f" ({why})" if why else ""
    )


def _preview_write_unread(path: Path, shown: str, content: str, cwd: Path) -> ChangePreview:
    """A write to a file the preview may not read: whether it exists and its size (what
    ``stat`` says), then the new content."""
    lines = _line_count(content)
    head = _head(content)
    size = regular_size(path, shown)
    if size is None:
        return ChangePreview(shown, new_file=True, lines=lines, head=head, additions=lines)
    note = f"{_hidden_note(path, shown, cwd)}; its {size:,} bytes will be replaced by this text"
    return ChangePreview(shown, lines=lines, head=head, note=note)


def _preview_edit_unread(
    path: Path, shown: str, old_string: str, new_string: str, cwd: Path
) -> ChangePreview:
    """An edit of a file the preview may not read: the strings it swaps, without context."""
    if regular_size(path, shown) is None:
        raise _missing(path, cwd)
    removed_lines = old_string.splitlines() or [""]
    added_lines = new_string.splitlines() or [""]
    diff = "".join(
        [f"--- a/{_label(shown)}\n", f"+++ b/{_label(shown)}\n", "@@ (context not shown) @@\n"]
        + [f"-{line}\n" for line in removed_lines]
        + [f"+{line}\n" for line in added_lines]
    )
    added, removed = len(added_lines), len(removed_lines)
    return ChangePreview(
        shown, diff=diff, additions=added, deletions=removed, note=_hidden_note(path, shown, cwd)
    )


def _preview_edit(
    path: Path, shown: str, args: dict[str, Any], cwd: Path, readable: bool = True
) -> ChangePreview:
    old_string, new_string = args.get("old_string"), args.get("new_string")
    if not isinstance(old_string, str) or not isinstance(new_string, str):
        return ChangePreview(shown, error="old_string and new_string must be strings")
    check_edit_strings(old_string, new_string, shown)
    if not readable:
        return _preview_edit_unread(path, shown, old_string, new_string, cwd)
    try:
        before = _current(path, shown)
    except _TooLarge as exc:
        return ChangePreview(shown, note=str(exc))
    if before is None:
        raise _missing(path, cwd)
    text = edit_text(before, shown)
    after, _, _ = plan_edit(text, old_string, new_string, bool(args.get("replace_all")), shown)
    diff, added, removed = _diff(_label(shown), text, after)
    return ChangePreview(
        shown, diff=diff, lines=_line_count(after), additions=added, deletions=removed
    )


def _scrubbed(preview: ChangePreview, secrets: Iterable[str]) -> ChangePreview:
    extra = tuple(secrets)
    return replace(
        preview,
        diff=scrub(preview.diff, extra),
        head=scrub(preview.head, extra),
        error=None if preview.error is None else scrub(preview.error, extra),
    )


def readable_by_default(path: Path, cwd: Path) -> bool:
    """Whether the ``read`` tool reads the resolved ``path`` without asking when no rule or
    grant says more: inside ``cwd`` and not sensitive (``paths.path_subject``)."""
    return is_inside(path, cwd) and sensitive_reason(path) is None


def preview_change_sync(
    tool: str,
    args: dict[str, Any],
    cwd: Path,
    secrets: Iterable[str] = (),
    may_read: MayRead | None = None,
) -> ChangePreview | None:
    """The preview of a ``write``/``edit`` call (None for any other tool), computed here;
    ``secrets`` (config's literal keys) are scrubbed along with the environment's.
    ``may_read(resolved_path)`` says whether the current file may be shown (the ``read``
    permission); without it, ``readable_by_default``."""
    if tool not in PREVIEWED_TOOLS:
        return None
    found = _preview(tool, args, cwd, may_read)
    return _scrubbed(found, secrets)


def _preview(
    tool: str, args: dict[str, Any], cwd: Path, may_read: MayRead | None = None
) -> ChangePreview:
    raw = args.get("path")
    if not isinstance(raw, str) or not raw:
        return ChangePreview("?", error="argument 'path' must be a non-empty string")
    path = resolve_path(raw, cwd)
    shown = display_path(path, cwd)
    try:
        readable = may_read(path) if may_read is not None else readable_by_default(path, cwd)
        if tool == "write":
            content = args.get("content")
            if not isinstance(content, str):
                return ChangePreview(shown, error="argument 'content' must be a string")
            if not readable:
                return _preview_write_unread(path, shown, content, cwd)
            return _preview_write(path, shown, content)
        return _preview_edit(path, shown, args, cwd, readable)
    except ToolError as exc:
        return ChangePreview(shown, error=str(exc))
    except OSError as exc:
        return ChangePreview(shown, error=f"cannot read {shown}: {exc.strerror or exc}")


async def preview_change(
    tool: str,
    args: dict[str, Any],
    cwd: Path,
    secrets: Iterable[str] = (),
    may_read: MayRead | None = None,
) -> ChangePreview | None:
    """``preview_change_sync`` in a daemon thread with a deadline (a FIFO, a stuck mount)."""
    if tool not in PREVIEWED_TOOLS:
        return None
    extra = tuple(secrets)
    try:
        return await run_blocking(
            lambda: preview_change_sync(tool, args, cwd, extra, may_read),
            "previewing the change",
            PREVIEW_DEADLINE_S,
        )
    except ToolError as exc:
        # Only the deadline lands here: the call itself may well succeed, so this is a note
        # ("no preview"), not an error (which the modal shows as "This call would fail").
        raw = args.get("path")
        return ChangePreview(str(raw), note=f"no preview of the change: {exc}")
