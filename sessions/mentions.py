"""``@path`` mentions in a user message: finding them, attaching what they name, and the files
a prompt may complete them from.

A mention is ``@`` at the start of a word followed by a path (``@README.md``, ``@src/``,
``@"docs/a b.md"``); trailing punctuation is not part of it, and ``user@host`` is not one.
Only text a person typed is searched for mentions (the prompt, ``opencode run "..."``:
``Engine.send(mentions=True)``), never a subagent's prompt, a workflow step or a custom
command's expansion, whose text a model or a program wrote.

``attach_mentions`` sends each mention that names an existing path through the tool-call path
as a ``read`` call (a file) or a ``list`` call (a directory) on the user's message: the same
permission decision the model's own calls get (outside the project, ``.env*``, ``.git``, SSH
keys... are asked about, or denied by a rule, never attached silently), the same bounds (the
read tool's line and byte limits, binary files refused with a note), the same secret scrubbing,
and the same events, so the store keeps them as the message's own ``tool_call``/``tool_result``
parts while the text part keeps what the user typed. ``attached_context`` turns those parts
back into what the model reads after the typed text (``history.py``); the ``!cmd`` shell mode
(``shell_mode.py``) stores its command the same way.

``project_files`` lists the files a completion offers (git-aware: tracked plus untracked files
git does not ignore; outside git a walk honouring ``.gitignore``), and ``FileIndex.rank``
filters them by a fuzzy (subsequence) match, basename matches first, shorter paths first, with
regular expressions over one joined string so a keystroke costs milliseconds at 50k files.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import json
import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opencode.sessions.events import MessageFinished, ToolCallEnd, TurnFinished, Usage
from opencode.sessions.ids import new_id
from opencode.sessions.permissions_api import PermissionRequired
from opencode.sessions.tools.paths import resolve_path

if TYPE_CHECKING:
    from opencode.sessions.runner import Runner
    from opencode.sessions.store.sessions import MessageRecord
    from opencode.sessions.tool_calls import ToolCalls
    from opencode.sessions.tools.base import Tool

# More mentions than this in one message are not attached (the model can read the rest);
# at most MAX_CANDIDATES ``@words`` are looked up at all (a pasted log full of ``@``s).
MAX_MENTIONS = 10
MAX_CANDIDATES = 50
# Listing files for completion: above this many the list is cut (and says so).
MAX_INDEXED = 200_000
GIT_LIST_TIMEOUT_S = 20.0

# ``@`` after start/whitespace/an opening bracket; a quoted path may hold spaces.
_MENTION = re.compile(r'(?:(?<=^)|(?<=[\s(\[{<]))@(?:"([^"\n]+)"|([^\s"]+))')
_TRAILING = ".,;:!?)]}>'`"


@dataclass(frozen=True, slots=True)
class Mention:
    path: str  # as typed, without the ``@`` and quotes
    start: int  # offsets of the whole mention in the text
    end: int


def find_mentions(text: str) -> list[Mention]:
    """Every mention in ``text``, in order, duplicates included."""
    found: list[Mention] = []
    for match in _MENTION.finditer(text):
        quoted, bare = match.group(1), match.group(2)
        if quoted is not None:
            found.append(Mention(quoted, match.start(), match.end()))
            continue
        path = bare.rstrip(_TRAILING)
        # A trailing dot is punctuation, but ``@.`` / ``@..`` / ``@./`` name directories.
        if not path and bare.strip(".") == "":
            path = bare
        if path:
            found.append(Mention(path, match.start(), match.start() + 1 + len(path)))
    return found


# ---------------------------------------------------------------------- attaching


@dataclass(frozen=True, slots=True)
class Attachment:
    mention: Mention
    tool: str  # read | list
    output: str
    failed: bool
    required: bool = False  # a permission was needed and the asker must not answer


async def attach_mentions(
    tool_calls: ToolCalls,
    tools: dict[str, Tool],
    session_id: str,
    message_id: str,
    next_seq: Callable[[], int],
    text: str,
    cwd: Path,
    cancel: asyncio.Event,
) -> list[Attachment]:
    """Attach what the mentions of ``text`` name to the user message ``message_id``, each as
    one ``read``/``list`` tool call on it (events on the bus, permission asked as for the
    model's calls). A mention of nothing that exists is left as text (``@someone``)."""
    attached: list[Attachment] = []
    seen: set[Path] = set()
    for mention in find_mentions(text)[:MAX_CANDIDATES]:
        if len(seen) >= MAX_MENTIONS:
            break
        resolved = resolve_path(mention.path, cwd)
        is_dir = await asyncio.to_thread(_kind, resolved)
        if is_dir is None or resolved in seen:
            continue
        seen.add(resolved)
        name = "list" if is_dir else "read"
        tool = tools.get(name)
        if tool is None:
            continue
        call = ToolCallEnd(0, new_id("call"), name, json.dumps({"path": mention.path}))
        try:
            reply = await tool_calls.run(
                session_id, message_id, next_seq, call, {name: tool}, cancel
            )
        except PermissionRequired as exc:  # headless --on-ask fail: recorded as denied
            attached.append(Attachment(mention, name, str(exc), True, required=True))
            break  # the turn ends: nothing more is read or sent
        attached.append(Attachment(mention, name, reply.content, reply.is_error))
    return attached


async def mention_blocks(
    runner: Runner, session_id: str, user_id: str, text: str, enabled: bool = True
) -> tuple[list[str], TurnFinished | None]:
    """Attach what the ``@path`` mentions of the user message ``user_id`` name; return the
    blocks the model reads after its text, and the end of the turn when a mention needed a
    permission the asker must not give (headless ``--on-ask fail``: nothing is sent, exit 3).
    Cancelled (Esc on a permission question), the user message and the turn end as
    interrupted."""
    if not enabled or "@" not in text:
        return [], None
    seq = itertools.count(2)  # the typed text is part 1
    try:
        attached = await attach_mentions(
            runner.tool_calls,
            runner.tools,
            session_id,
            user_id,
            lambda: next(seq),
            text,
            runner.cwd,
            asyncio.Event(),
        )
    except asyncio.CancelledError:
        await runner.bus.emit(MessageFinished(session_id, user_id, "interrupted"))
        await runner.bus.emit(TurnFinished(session_id, "interrupted", Usage(), 0))
        raise
    blocks = [
        attachment_block(a.tool, {"path": a.mention.path}, a.output, a.failed) for a in attached
    ]
    required = next((a for a in attached if a.required), None)
    if required is None:
        return blocks, None
    return blocks, TurnFinished(session_id, "permission_required", Usage(), 0, required.output)


def _kind(path: Path) -> bool | None:
    """True for a directory, False for anything else that exists (links followed), None
    when nothing does."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return None


def _exists(path: Path) -> bool:
    return os.path.lexists(path)


def attachment_block(tool: str, args: dict[str, Any], output: str, failed: bool) -> str:
    """One attachment as the model reads it after the user's text."""
    if tool == "bash":
        command = str(args.get("command", ""))
        return (
            f"[I ran this shell command myself: `{command}`; its output follows]\n"
            f"{output.rstrip()}\n[end of the output of `{command}`]"
        )
    path = str(args.get("path", ""))
    if failed:
        return f"[@{path} was not attached: {output.strip()}]"
    what = "directory listing" if tool == "list" else "file content, as the read tool shows it"
    return f"[@{path} attached: {what}]\n{output.rstrip()}\n[end of @{path}]"


def user_content(text: str, blocks: list[str]) -> str:
    """The user's typed text followed by its attachments."""
    return "\n\n".join([text, *blocks]) if blocks else text


def attached_context(message: MessageRecord) -> list[str]:
    """The attachments stored on a user message (mentions, a ``!`` command), as blocks."""
    results = {p.tool_call_id: p for p in message.parts if p.kind == "tool_result"}
    blocks: list[str] = []
    for part in message.parts:
        if part.kind != "tool_call" or not part.tool_name:
            continue
        try:
            args = json.loads(part.tool_args or "{}")
        except json.JSONDecodeError:
            args = {}
        if not isinstance(args, dict):
            args = {}
        result = results.get(part.tool_call_id)
        if result is None:
            output, failed = "(interrupted before it finished)", part.tool_name != "bash"
        else:
            output, failed = result.content, result.status != "completed"
        if part.tool_name == "bash" and result is not None and result.status == "denied":
            failed = True
        blocks.append(attachment_block(part.tool_name, args, output, failed))
    return blocks


# ---------------------------------------------------------------------- completion


async def project_files(cwd: Path) -> list[str]:
    """The project's files and their directories (``dir/``), relative to ``cwd``: in a git
    work tree the tracked ones plus untracked ones git does not ignore; elsewhere a walk
    that honours ``.gitignore`` files. Never raises for a broken repository (it walks)."""
    from opencode.sessions.git import GitError, run_git

    try:
        result = await run_git(
            cwd,
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            limit_s=GIT_LIST_TIMEOUT_S,
            check=False,
        )
    except GitError:
        result = None
    if result is not None and result.ok:
        names = [n for n in result.stdout.split("\0") if n]
        return await asyncio.to_thread(_with_dirs, names, cwd, True)
    return await asyncio.to_thread(_walk, cwd)


def _walk(cwd: Path) -> list[str]:
    from opencode.sessions.tools.walk import Tree

    root = cwd.resolve()
    names: list[str] = []
    for entry in Tree(root, root).files():
        names.append(entry.path.relative_to(root).as_posix())
        if len(names) >= MAX_INDEXED:
            break
    return _with_dirs(names, cwd, False)


def _with_dirs(names: list[str], cwd: Path, check: bool) -> list[str]:
    """``names`` plus each parent directory once as ``dir/``; git's names of deleted files
    (still tracked, gone from disk) are dropped when ``check``."""
    out: list[str] = []
    dirs: set[str] = set()
    for name in names[:MAX_INDEXED]:
        if check and not _exists(cwd / name):
            continue
        out.append(name)
        cut = name.rfind("/")
        while cut > 0:
            parent = name[: cut + 1]
            if parent in dirs:
                break
            dirs.add(parent)
            cut = name.rfind("/", 0, cut)
    out.extend(dirs)
    return out


class _Lines:
    """Strings as the lines of one text (``\\n`` before each and after the last), lower-cased
    when that keeps offsets, with where each line starts: a regex scan over the text is C
    speed, and a match's offset maps back to its line's index by bisection."""

    def __init__(self, lines: list[str]) -> None:
        text = "\n" + "\n".join(lines) + "\n"
        lower = text.lower()
        self.folded = len(lower) == len(text)  # lower() may change lengths (rare scripts)
        self.text = lower if self.folded else text
        self.starts: list[int] = []
        offset = 1
        for line in lines:
            self.starts.append(offset)
            offset += len(line) + 1

    def scan(self, pattern: re.Pattern[str], seen: set[int], found: list[int], limit: int) -> None:
        """Add the indexes of lines ``pattern`` matches (starting at their ``\\n``) to
        ``found``, in order, until it holds ``limit``."""
        text, pos = self.text, 0
        while len(found) < limit:
            match = pattern.search(text, pos)
            if match is None:
                return
            index = bisect.bisect_right(self.starts, match.start())
            pos = self.starts[index + 1] - 1 if index + 1 < len(self.starts) else len(text)
            if index not in seen:
                seen.add(index)
                found.append(index)


class FileIndex:
    """A fixed list of paths, ranked per query. Built once per listing (off the event loop:
    ``FileIndex(paths)`` sorts and joins), queried per keystroke."""

    def __init__(self, paths: Iterable[str]) -> None:
        # Shortest first: a scan in this order finds the best matches of a tier first and
        # stops after ``limit`` of them.
        self.paths = sorted(set(paths), key=lambda p: (len(p), p))
        self._paths = _Lines(self.paths)
        # Each path's basename (a directory's keeps its ``/``), line for line.
        self._names = _Lines([_basename(p) for p in self.paths])
        # The last query and every path it matched, when they were fewer than its limit:
        # a query typed on from it can only match among those (each tier's match of
        # ``q + c`` is a match of ``q``), so typing on after a rare prefix costs nothing.
        self._narrowed: tuple[str, FileIndex] | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def rank(self, query: str, limit: int = 8) -> list[str]:
        """Up to ``limit`` paths matching ``query`` (case-insensitive subsequence): first
        those whose basename starts with it, then whose basename holds it as a subsequence,
        then whose whole path does; within each, shorter paths first."""
        if not query:
            return self.paths[:limit]
        if "\n" in query:
            return []
        narrowed = self._narrowed
        if narrowed is not None and query.startswith(narrowed[0]):
            return narrowed[1].rank(query, limit)
        found = self._scan(query, limit)
        if len(found) < limit:
            self._narrowed = (query, FileIndex(found))
        else:
            self._narrowed = None
        return found[:limit]

    def _scan(self, query: str, limit: int) -> list[str]:
        found: list[int] = []
        seen: set[int] = set()
        base = query.rstrip("/")
        if base and "/" not in base:
            names = self._names
            flags = 0 if names.folded else re.IGNORECASE
            q = base.lower() if names.folded else base
            # A query ending in ``/`` asks for directories only.
            end = "[^\n]*/\n" if query.endswith("/") else ""
            names.scan(re.compile(rf"\n{re.escape(q)}{end}", flags), seen, found, limit)
            names.scan(re.compile(rf"\n{_subsequence(q)}{end}", flags), seen, found, limit)
        paths = self._paths
        q = query.lower() if paths.folded else query
        flags = 0 if paths.folded else re.IGNORECASE
        paths.scan(re.compile(rf"\n{_subsequence(q)}", flags), seen, found, limit)
        return [self.paths[i] for i in found]


def _basename(path: str) -> str:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name + "/" if path.endswith("/") else name


def _subsequence(query: str) -> str:
    """A line holding ``query``'s characters in order. Each class excludes the next wanted
    character, so the match is the greedy leftmost one, found with no backtracking."""
    return "".join(f"[^{_cls(c)}\\n]*+{re.escape(c)}" for c in query)


def _cls(char: str) -> str:
    """``char`` escaped for use inside a character class."""
    return re.escape(char) if char in "\\]^-[" else char
