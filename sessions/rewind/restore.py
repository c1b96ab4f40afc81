"""Rewind a session to just before one of its messages or tool calls: its files, its
conversation, or both.

Files come back from the before-images in ``file_change`` (write, edit and bash snapshots
alike), so this works outside git and never touches a file the session did not change. For
each path, the first change at or after the target says what the file must become (its
before-image, or absent), and the last change says how the session left it (``after_hash``).
A file whose current content is neither of those was changed by someone else since: it is
reported and left alone unless ``force``. A file already as it must be is left alone too.

A directory left empty by a delete is removed only when the session made it in the rewound
range (``created_dirs`` in the write tool's and the bash snapshot's result metadata): an
empty directory that was there before (a mount point, an output folder) stays.

When files are skipped (and not ``force``), the conversation is left as it is
(``chat_held`` says why): a rewind that half happened must not also drop the turns that
explain the files still changed.

Conversation rewind marks messages (``MessagesRewound``, written by the store's subscriber);
nothing is deleted. The file changes a rewind undid are marked ``rewound_at`` (undo data, not
session rows), so a later rewind to an earlier point starts from the restored state. With a
tool-call target the conversation is rewound to just before the message holding the call.
"""

from __future__ import annotations

import json
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from opencode.sessions.rewind.snapshots import ABSENT, content_hash, hash_file
from opencode.sessions.store.db import Store

Action = Literal["restore", "recreate", "delete", "unchanged", "skip"]


class RewindError(Exception):
    """A target that cannot be rewound to; the message says which and what to do."""


@dataclass(slots=True)
class Target:
    session_id: str
    message_id: str
    part_id: str | None  # the tool_call part when the target is a tool call
    role: str
    created_at: float
    text: str  # the user's prompt, or the tool call (name and arguments)

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created_at))
        what = "tool call" if self.part_id else f"{self.role} message"
        shown = self.text if len(self.text) <= 70 else self.text[:69] + "…"
        return f"{what} {self.part_id or self.message_id} ({when}): {shown!r}"


@dataclass(slots=True)
class FileStep:
    path: str
    action: Action
    reason: str = ""
    rows: list[int] = field(default_factory=list)
    data: bytes | None = None  # what to write (restore, recreate)
    removed_dirs: list[str] = field(default_factory=list)

    def to_dict(self, cwd: Path) -> dict[str, Any]:
        out: dict[str, Any] = {"path": shown(self.path, cwd), "action": self.action}
        if self.reason:
            out["reason"] = self.reason
        if self.removed_dirs:
            out["removed_dirs"] = [shown(d, cwd) for d in self.removed_dirs]
        return out


@dataclass(slots=True)
class RewindPlan:
    target: Target
    code: bool
    chat: bool
    files: list[FileStep] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    not_covered: list[str] = field(default_factory=list)
    # Directories the session made in the rewound range: the only ones a delete may remove.
    created_dirs: set[str] = field(default_factory=set)
    # Why the conversation part was not done although asked for (files were skipped).
    chat_held: str | None = None

    @property
    def skipped(self) -> list[FileStep]:
        return [f for f in self.files if f.action == "skip"]

    def to_dict(self, cwd: Path) -> dict[str, Any]:
        return {
            "session_id": self.target.session_id,
            "to": self.target.part_id or self.target.message_id,
            "code": self.code,
            "chat": self.chat,
            "files": [f.to_dict(cwd) for f in self.files],
            "messages_rewound": self.messages,
            "not_covered": self.not_covered,
            "prompt": self.target.text if self.target.role == "user" else None,
            "chat_held": self.chat_held,
            "skipped": [shown(f.path, cwd) for f in self.skipped],
        }


def shown(path: str, cwd: Path) -> str:
    base = str(cwd)
    return path[len(base) + 1 :] if path.startswith(base + "/") else path


async def resolve_target(store: Store, session_id: str, ref: str) -> Target:
    """A message id (or unique prefix), a tool call's part id, or a provider call id."""
    ref = ref.strip()
    hint = f"see the ids with `opencode session show {session_id} --format json`"
    if not ref:
        raise RewindError(f"give a message or tool call id to rewind to; {hint}")
    escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = await store.fetchall(
        "SELECT * FROM message WHERE session_id = ? AND id LIKE ? ESCAPE '\\' LIMIT 2",
        (session_id, escaped),
    )
    if len(rows) == 1:
        row = rows[0]
        parts = await store.fetchall(
            "SELECT kind, content, tool_name, tool_args FROM part WHERE message_id = ?"
            " ORDER BY seq",
            (row["id"],),
        )
        text = "".join(p["content"] for p in parts if p["kind"] == "text")
        if not text:
            text = ", ".join(p["tool_name"] or "" for p in parts if p["kind"] == "tool_call")
        return await _checked(
            store,
            Target(session_id, row["id"], None, row["role"], row["created_at"], text),
            row["rewound_at"],
            hint,
        )
    if len(rows) > 1:
        raise RewindError(f"{ref!r} matches several messages of {session_id}; give more of it")
    part = await store.fetchone(
        "SELECT p.*, m.role, m.created_at AS m_created, m.rewound_at FROM part p"
        " JOIN message m ON m.id = p.message_id"
        " WHERE p.session_id = ? AND p.kind IN ('tool_call', 'tool_result')"
        " AND (p.id = ? OR p.tool_call_id = ?) ORDER BY p.kind, p.id DESC LIMIT 1",
        (session_id, ref, ref),
    )
    if part is None:
        raise RewindError(f"no message or tool call {ref!r} in session {session_id}; {hint}")
    call: Any = part
    if part["kind"] == "tool_result":
        call = await store.fetchone(
            "SELECT p.*, m.role, m.created_at AS m_created, m.rewound_at FROM part p"
            " JOIN message m ON m.id = p.message_id"
            " WHERE p.message_id = ? AND p.kind = 'tool_call' AND p.tool_call_id = ?",
            (part["message_id"], part["tool_call_id"]),
        )
        if call is None:
            raise RewindError(f"tool result {ref!r} has no call in {session_id}; {hint}")
    text = f"{call['tool_name']} {call['tool_args'] or ''}".strip()
    return await _checked(
        store,
        Target(session_id, call["message_id"], call["id"], call["role"], call["m_created"], text),
        call["rewound_at"],
        hint,
    )


async def _checked(store: Store, target: Target, rewound_at: float | None, hint: str) -> Target:
    """A rewound target is fine while nothing visible follows it (rewinding again, say with
    --force for the files skipped the first time); after a new turn it is history that was
    abandoned, and rewinding "to" it would really rewind the new turn."""
    if rewound_at is not None:
        later = await store.fetchone(
            "SELECT 1 FROM message WHERE session_id = ? AND id > ? AND rewound_at IS NULL",
            (target.session_id, target.message_id),
        )
        if later is not None:
            raise RewindError(
                f"{target.message_id} was rewound and the conversation went on since; pick a "
                f"message still in the conversation ({hint})"
            )
    return target


async def plan_rewind(
    store: Store, target: Target, *, code: bool, chat: bool, force: bool
) -> RewindPlan:
    plan = RewindPlan(target, code, chat)
    if code:
        rows = await store.fetchall(
            "SELECT id, path, existed, before, after_hash FROM file_change"
            " WHERE session_id = ? AND rewound_at IS NULL AND ("
            " (message_id IS NOT NULL AND (message_id > ? OR (message_id = ?"
            "   AND (? IS NULL OR part_id >= ?))))"
            " OR (message_id IS NULL AND created_at >= ?))"
            " ORDER BY id",
            (
                target.session_id,
                target.message_id,
                target.message_id,
                target.part_id,
                target.part_id,
                target.created_at,
            ),
        )
        by_path: dict[str, list[Any]] = {}
        for row in rows:
            by_path.setdefault(row["path"], []).append(row)
        plan.files = [_file_step(path, changes, force) for path, changes in by_path.items()]
        plan.not_covered = await _not_covered(store, target)
        plan.created_dirs = await _created_dirs(store, target)
    if chat:
        messages = await store.fetchall(
            "SELECT id FROM message WHERE session_id = ? AND id >= ? AND rewound_at IS NULL"
            " ORDER BY id",
            (target.session_id, target.message_id),
        )
        plan.messages = [m["id"] for m in messages]
    return plan


def _file_step(path: str, changes: list[Any], force: bool) -> FileStep:
    first, last = changes[0], changes[-1]
    rows = [c["id"] for c in changes]
    want: bytes | None = first["before"] if first["existed"] else None
    if first["existed"] and want is None:
        want = b""
    want_hash = ABSENT if want is None else content_hash(want)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        current: str | None = ABSENT
    except OSError as exc:
        return FileStep(path, "skip", f"cannot read it: {exc.strerror}", rows)
    else:
        if stat.S_ISDIR(st.st_mode):
            return FileStep(path, "skip", "it is a directory now", rows)
        if not stat.S_ISREG(st.st_mode):
            return FileStep(path, "skip", "it is no longer a regular file (a link?)", rows)
        current = hash_file(path)
        if current is None:
            return FileStep(path, "skip", "cannot read it", rows)
    if current == want_hash:
        return FileStep(path, "unchanged", "already as it was", rows)
    expected = last["after_hash"]
    if not force:
        if expected is None:
            return FileStep(
                path, "skip", "no record of how the session left it; --force restores it", rows
            )
        if current != expected:
            gone = " (deleted)" if current == ABSENT else ""
            return FileStep(
                path, "skip", f"changed since the session left it{gone}; --force overwrites", rows
            )
    if want is None:
        return FileStep(path, "delete", rows=rows)
    return FileStep(path, "recreate" if current == ABSENT else "restore", rows=rows, data=want)


async def _not_covered(store: Store, target: Target) -> list[str]:
    """What bash snapshots in the rewound range could not cover, from their results."""
    parts = await store.fetchall(
        "SELECT p.metadata, p.tool_call_id FROM part p JOIN message m ON m.id = p.message_id"
        " WHERE p.session_id = ? AND p.kind = 'tool_result' AND p.tool_name = 'bash'"
        " AND m.rewound_at IS NULL AND p.metadata IS NOT NULL"
        " AND (m.id > ? OR (m.id = ? AND (? IS NULL OR p.id >= ?))) ORDER BY p.id",
        (
            target.session_id,
            target.message_id,
            target.message_id,
            target.part_id,
            target.part_id,
        ),
    )
    lines: list[str] = []
    for part in parts:
        try:
            snap = json.loads(part["metadata"]).get("snapshot") or {}
        except (ValueError, AttributeError):
            continue
        call = part["tool_call_id"]
        if snap.get("error"):
            lines.append(f"bash {call}: {snap['error']}; its changes are not recorded")
        for item in snap.get("uncovered_changes", []):
            lines.append(f"bash {call} changed {item}: no before-image, not restored")
        more = snap.get("uncovered_changes_count", 0) - len(snap.get("uncovered_changes", []))
        if more > 0:
            lines.append(f"bash {call} changed {more} more files with no before-image")
        if snap.get("not_covered_count"):
            listed = ", ".join(snap.get("not_covered", [])[:5])
            lines.append(
                f"bash {call}: {snap['not_covered_count']} paths were outside its snapshot "
                f"budget ({listed}); changes there are not recorded"
            )
    return lines


async def _created_dirs(store: Store, target: Target) -> set[str]:
    """Directories the write tool or a bash call made in the rewound range (their results'
    ``created_dirs``). Sessions recorded before this was kept give none: nothing is pruned."""
    parts = await store.fetchall(
        "SELECT p.tool_name, p.metadata FROM part p JOIN message m ON m.id = p.message_id"
        " WHERE p.session_id = ? AND p.kind = 'tool_result' AND p.tool_name IN ('write', 'bash')"
        " AND m.rewound_at IS NULL AND p.metadata IS NOT NULL"
        " AND (m.id > ? OR (m.id = ? AND (? IS NULL OR p.id >= ?)))",
        (
            target.session_id,
            target.message_id,
            target.message_id,
            target.part_id,
            target.part_id,
        ),
    )
    made: set[str] = set()
    for part in parts:
        try:
            meta = json.loads(part["metadata"])
            if part["tool_name"] == "bash":
                meta = meta.get("snapshot") or {}
            dirs = meta.get("created_dirs") or []
        except (ValueError, AttributeError):
            continue
        made.update(d for d in dirs if isinstance(d, str))
    return made


def apply_files(plan: RewindPlan, cwd: Path) -> None:
    """Carry out the plan's file steps (blocking). A step that fails becomes a skip with
    the reason; the others still run."""
    for step in plan.files:
        if step.action in ("skip", "unchanged"):
            continue
        try:
            if step.action == "delete":
                os.unlink(step.path)
                step.removed_dirs = _prune_empty_dirs(
                    Path(step.path).parent, cwd, plan.created_dirs
                )
            else:
                _write(Path(step.path), step.data or b"", cwd)
        except OSError as exc:
            step.reason = f"{step.action} failed: {exc.strerror or exc}"
            step.action = "skip"


def _write(path: Path, data: bytes, cwd: Path) -> None:
    parent = path.parent
    # A directory on the way replaced by a link would send the write elsewhere.
    ancestor = parent
    while ancestor != cwd and ancestor != ancestor.parent:
        if ancestor.is_symlink():
            raise OSError(0, f"{ancestor} is now a symbolic link")
        if not ancestor.is_relative_to(cwd):
            break  # outside the workspace: only the file's own directory is checked
        ancestor = ancestor.parent
    parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _prune_empty_dirs(directory: Path, cwd: Path, made: set[str]) -> list[str]:
    """Remove directories left empty by a delete, up to (not including) the workspace, as
    long as the session made them (``made``); the first one it did not make stops it."""
    removed: list[str] = []
    while directory != cwd and directory.is_relative_to(cwd) and str(directory) in made:
        try:
            os.rmdir(directory)
        except OSError:
            break
        removed.append(str(directory))
        directory = directory.parent
    return removed


async def mark_files_rewound(store: Store, plan: RewindPlan) -> None:
    """The file changes this rewind undid (or found already undone) leave the undo range."""
    now = time.time()
    ids = [i for step in plan.files if step.action != "skip" for i in step.rows]
    await store.executemany(
        "UPDATE file_change SET rewound_at = ? WHERE id = ?", [(now, i) for i in ids]
    )


def summary(plan: RewindPlan, cwd: Path, *, dry_run: bool) -> str:
    """What the rewind did (or, dry, would do), one file per line, skips with their reason."""
    verb = {
        "restore": "restored",
        "recreate": "recreated",
        "delete": "deleted",
        "unchanged": "unchanged",
    }
    lines = [
        ("Would rewind" if dry_run else "Rewound")
        + f" {plan.target.session_id} to just before {plan.target.describe()}"
    ]
    if plan.code:
        done = [f for f in plan.files if f.action != "skip"]
        skipped = [f for f in plan.files if f.action == "skip"]
        if not plan.files:
            lines.append("files: the session changed no files from there on")
        for step in done:
            word = verb[step.action]
            if dry_run and step.action != "unchanged":
                word = "would be " + word
            extra = f" ({step.reason})" if step.reason else ""
            lines.append(f"  {word:<20} {shown(step.path, cwd)}{extra}")
            for directory in step.removed_dirs:
                lines.append(f"  {'removed empty dir':<20} {shown(directory, cwd)}/")
        if skipped:
            lines.append("skipped (left as they are):")
            for step in skipped:
                lines.append(f"  {shown(step.path, cwd)}: {step.reason}")
            lines.append(
                f"the code rewind is incomplete ({len(skipped)} file"
                f"{'s' if len(skipped) != 1 else ''} skipped); --force overwrites files "
                "changed since"
            )
        if plan.not_covered:
            lines.append("not covered (these changes cannot be undone):")
            lines.extend(f"  {line}" for line in plan.not_covered)
    else:
        lines.append("files: left as they are (--chat)")
    if plan.chat and plan.chat_held:
        lines.append(f"conversation: left as it is: {plan.chat_held}")
    elif plan.chat:
        count = len(plan.messages)
        lines.append(
            f"conversation: {count} message{'s' if count != 1 else ''} "
            + ("would be " if dry_run else "")
            + "rewound (kept in the store; `session show --all` shows them)"
        )
    else:
        lines.append("conversation: left as it is (--code)")
    if plan.chat and plan.chat_held is None and plan.code and plan.skipped:
        lines.append(
            f"note: the conversation was rewound although {len(plan.skipped)} file(s) were "
            "skipped (--force)"
        )
    if plan.target.role == "user" and plan.target.part_id is None and plan.chat:
        lines.append(f"the rewound prompt was: {plan.target.text}")
    return "\n".join(lines)
