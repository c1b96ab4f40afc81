"""The ``grep`` tool: lines matching a Python regular expression, as ``path:line: text``.

Walks like every search tool (``opencode.sessions.tools.walk``). While walking it does not open
sensitive files (``.env*`` and the rest of ``paths.sensitive_reason``, judged on the symlink's
target, so a link to ``.env`` is ``.env``): reading one asks first, so a wide search must not
print secrets. Naming such a file as ``path`` searches it, behind that ask. Files over
``MAX_GREP_FILE_BYTES`` are skipped, output lines are cut at ``MAX_GREP_LINE_CHARS``, and only
regular files are opened, never blocking on a FIFO.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from opencode.sessions.globs import GlobError, GlobMatcher
from opencode.sessions.tools.base import PermissionSubject, ToolContext, ToolError, ToolResult
from opencode.sessions.tools.paths import (
    BINARY_SNIFF_BYTES,
    display_path,
    looks_binary,
    read_regular,
    run_blocking,
    sensitive_reason,
)
from opencode.sessions.tools.walk import Entry, Tree, base_dir, dir_subject, plural

MAX_GREP_MATCHES = 200
MAX_GREP_LINE_CHARS = 300
MAX_GREP_FILE_BYTES = 2 * 1024 * 1024
MAX_OUTPUT_CHARS = 50 * 1024


class GrepTool:
    name = "grep"
    description = (
        "Search file contents with a Python regular expression; prints `path:line: text` "
        "for each matching line. Use `include` to limit the files by name glob "
        "(e.g. `*.py`, `*.{ts,tsx}`). Add `(?i)` for case-insensitive search. Skips binary "
        "files, files over 2 MB, .env files, .git, node_modules, .venv and .gitignore'd "
        f"files. At most {MAX_GREP_MATCHES} matches."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "Regular expression (Python `re`)."},
            "path": {
                "type": "string",
                "description": "File or directory to search (default: the working directory).",
            },
            "include": {
                "type": "string",
                "description": "Only search files whose name matches this glob.",
            },
        },
        "required": ["pattern"],
    }

    def permission_subject(self, args: dict[str, Any], cwd: Path) -> PermissionSubject:
        return dir_subject(args, cwd)

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        pattern = args.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise ToolError("argument 'pattern' must be a non-empty regular expression")
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ToolError(
                f"invalid regular expression {pattern!r}: {exc}; escape special characters "
                "such as ( [ { . * + ? with a backslash to match them literally"
            ) from None
        include = args.get("include")
        matcher = None
        if isinstance(include, str) and include.strip():
            try:
                matcher = GlobMatcher.from_pattern(include)
            except GlobError as exc:
                raise ToolError(str(exc)) from None
        base = base_dir(args, ctx.cwd, allow_file=True)
        return await run_blocking(lambda: _grep(base, regex, matcher, ctx), f"grep {pattern!r}")


def _grep(
    base: Path, regex: re.Pattern[str], matcher: GlobMatcher | None, ctx: ToolContext
) -> ToolResult:
    tree: Tree | None = None
    if base.is_file():
        candidates: Iterator[Entry] = iter([Entry(base.name, base, base, False)])
        rel_base = base.parent
    else:
        tree = Tree(base, ctx.cwd)
        candidates = tree.files(ctx.cancel)
        rel_base = base
    # One search over the whole file rejects most files at C speed before splitting lines;
    # MULTILINE keeps ^/$ meaning line ends. \A, \Z and lookarounds can see the newline
    # around a line and change meaning, so patterns with them take the slow path.
    whole: re.Pattern[str] | None = None
    if not any(tok in regex.pattern for tok in ("\\A", "\\Z", "(?<", "(?=", "(?!")):
        whole = re.compile(regex.pattern, regex.flags | re.MULTILINE)
    lines: list[str] = []
    used = 0
    matches = 0
    files_with_matches = 0
    skipped_large = 0
    skipped_sensitive = 0
    more = False
    for entry in candidates:
        path = entry.path
        if matcher is not None and not matcher.matches(path.relative_to(rel_base).as_posix()):
            continue
        if path != base and sensitive_reason(entry.target) is not None:
            # Reading it asks first, so a wide search must not leak it. Silently: the tool's
            # description says so, and a note would invite the model to ask for it.
            skipped_sensitive += 1
            continue
        shown = display_path(path, ctx.cwd)
        try:
            if entry.target.stat().st_size > MAX_GREP_FILE_BYTES:
                skipped_large += 1
                continue
            data = read_regular(entry.target, shown)
        except (OSError, ToolError):
            continue
        if looks_binary(data[:BINARY_SNIFF_BYTES]):
            continue
        text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
        del data
        if whole is not None and not whole.search(text):
            continue
        hit = False
        file_lines = text.split("\n")
        if file_lines[-1] == "":
            file_lines.pop()  # the newline ending the last line starts no new line
        for number, line in enumerate(file_lines, 1):
            if not regex.search(line):
                continue
            if matches >= MAX_GREP_MATCHES or used > MAX_OUTPUT_CHARS:
                more = True
                break
            if len(line) > MAX_GREP_LINE_CHARS:
                line = line[:MAX_GREP_LINE_CHARS] + f"… [line cut, {len(line)} chars]"
            entry_text = f"{shown}:{number}: {line}"
            lines.append(entry_text)
            used += len(entry_text) + 1
            matches += 1
            hit = True
        files_with_matches += hit
        if more or ctx.cancel.is_set():
            break
    links_outside = tree.links_outside if tree is not None else 0
    meta: dict[str, Any] = {
        "matches": matches,
        "files": files_with_matches,
        "truncated": more,
        "skipped_large_files": skipped_large,
        "skipped_sensitive_files": skipped_sensitive,
        "links_outside": links_outside,
    }
    notes: list[str] = []
    if more:
        notes.append(
            f"(showing the first {matches} matches; there are more: narrow the pattern, the "
            "path or include)"
        )
    if skipped_large:
        notes.append(f"({plural(skipped_large, 'file')} over 2 MB not searched)")
    if links_outside:
        notes.append(f"({plural(links_outside, 'symlink')} pointing outside the project skipped)")
    if not lines:
        text = f"No matches for {regex.pattern!r} under {display_path(base, ctx.cwd)}"
        return ToolResult("\n".join([text, *notes]), metadata=meta)
    head = f"{plural(matches, 'match')} in {plural(files_with_matches, 'file')}"
    return ToolResult("\n".join([head, *lines, *notes]), metadata=meta)
