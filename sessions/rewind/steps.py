"""The steps of a session one can rewind to, with the files each changed: what the TUI's
/rewind picker lists (user messages, and the tool calls that changed files)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from opencode.sessions.rewind.restore import shown
from opencode.sessions.store.db import Store


@dataclass(slots=True)
class Step:
    id: str  # message id (a user turn) or tool_call part id
    kind: str  # "user" | "tool"
    created_at: float
    text: str  # the prompt, or "tool args"
    files: list[str] = field(default_factory=list)  # changed by this step (a turn: all its calls)


async def rewind_steps(store: Store, session_id: str, cwd: Path) -> list[Step]:
    """Oldest first: every user message still in the conversation, each followed by the tool
    calls of its turn that changed files."""
    messages = await store.fetchall(
        "SELECT m.id, m.role, m.created_at,"
        " (SELECT group_concat(p.content, '') FROM part p"
        "   WHERE p.message_id = m.id AND p.kind = 'text') AS text"
        " FROM message m WHERE m.session_id = ? AND m.rewound_at IS NULL ORDER BY m.id",
        (session_id,),
    )
    calls = await store.fetchall(
        "SELECT p.id, p.message_id, p.tool_name, p.tool_args, p.created_at, fc.path"
        " FROM part p JOIN file_change fc ON fc.session_id = p.session_id AND fc.part_id = p.id"
        " WHERE p.session_id = ? AND p.kind = 'tool_call' AND fc.rewound_at IS NULL"
        " ORDER BY p.id, fc.id",
        (session_id,),
    )
    by_message: dict[str, list[Step]] = {}
    by_id: dict[str, Step] = {}
    for row in calls:
        step = by_id.get(row["id"])
        if step is None:
            args = (row["tool_args"] or "").replace("\n", " ")
            step = Step(row["id"], "tool", row["created_at"], f"{row['tool_name']} {args}")
            by_id[row["id"]] = step
            by_message.setdefault(row["message_id"], []).append(step)
        name = shown(row["path"], cwd)
        if name not in step.files:
            step.files.append(name)
    steps: list[Step] = []
    turn: Step | None = None
    for message in messages:
        if message["role"] == "user":
            turn = Step(message["id"], "user", message["created_at"], message["text"] or "")
            steps.append(turn)
        for call in by_message.get(message["id"], []):
            steps.append(call)
            if turn is not None:
                turn.files.extend(f for f in call.files if f not in turn.files)
    return steps
