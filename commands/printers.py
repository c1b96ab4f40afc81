"""Headless subscribers of the runner's events: plain text and JSON Lines.

JSON Lines schema (version 1; every line has ``v``, ``type`` and ``session_id``; lines of a
subagent's session also have ``parent_session_id``):

- ``session``      title, model, cwd, resumed (a subagent's also: parent_call_id, the parent's
                   ``task`` call that runs it)
- ``text``         part_id, text            (streamed assistant text, in order)
- ``reasoning``    part_id, text
- ``tool_call``    call_id, tool, arguments (object)
- ``permission``   call_id, tool, subject, decision (allow|deny), reason
- ``tool_result``  call_id, tool, status (completed|error|denied), output, duration_ms
- ``tool_output``  call_id, text, dropped (a running bash command's output as it prints, in
                   whole lines, merged to at most ~20 lines a second; ``dropped`` counts
                   characters of a flood left out. Live display only: ``tool_result`` has
                   the output the model gets)
- ``todo``         call_id, todos [{id, content, status (pending|in_progress|completed|
                   cancelled), priority (high|medium|low, absent when not given)}]: the
                   session's whole todo list each time the model rewrites it
- ``error``        message, hint
- ``finish``       reason (stop|length|tool_calls|max_steps|max_cost|error|permission_required|
                   interrupted), steps, usage {input_tokens, output_tokens}, cost (the turn's,
                   null when no model price is known), model (the model that answered the last
                   step when a fallback did, else null)
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from opencode.sessions.events import (
    ErrorOccurred,
    PartDelta,
    PermissionAsked,
    SessionEvent,
    SessionStarted,
    TodosUpdated,
    ToolFinished,
    ToolOutputDelta,
    ToolStarted,
    TurnFinished,
)

JSON_SCHEMA_VERSION = 1


def _key_argument(arguments: dict[str, Any]) -> str:
    for key in ("command", "path", "pattern", "file_path", "url", "description"):
        value = arguments.get(key)
        if isinstance(value, str) and value:
            return value if len(value) <= 80 else value[:77] + "..."
    return ""


# PermissionAsked reasons of a call that was asked (and refused), not denied by a rule.
ASKED_REASONS = frozenset({"deny", "not asked (--on-ask fail)"})


class TextPrinter:
    """Assistant text to stdout as it streams; tool activity and errors to stderr.

    A subagent's text stays off stdout (its answer comes back as the parent's ``task``
    result); its tool activity and errors go to stderr, indented under the parent's."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._at_line_start = True
        self._depth: dict[str, int] = {}  # subagent session id -> nesting depth (1, 2, ...)

    def _err(self, line: str) -> None:
        if not self._at_line_start:
            self.out.write("\n")
            self.out.flush()
            self._at_line_start = True
        self.err.write(line + "\n")
        self.err.flush()

    def __call__(self, event: SessionEvent) -> None:
        if isinstance(event, SessionStarted) and event.parent_call_id and event.parent_id:
            self._depth[event.session_id] = self._depth.get(event.parent_id, 0) + 1
        depth = self._depth.get(event.session_id, 0)
        if depth:
            self._child(event, "  " * depth + "↳ ")
            return
        if isinstance(event, PartDelta):
            if event.kind == "text":
                self.out.write(event.text)
                self.out.flush()
                self._at_line_start = event.text.endswith("\n")
        elif isinstance(event, ToolStarted):
            self._err(f"→ {event.tool} {_key_argument(event.arguments)}".rstrip())
        elif isinstance(event, ToolFinished):
            mark = {"completed": "✓", "error": "✗", "denied": "⊘"}[event.status]
            line = f"{mark} {event.tool} ({event.duration_ms} ms)"
            if event.status != "completed":
                first = event.output.strip().splitlines()[0] if event.output.strip() else ""
                line += f": {first[:200]}"
            self._err(line)
        elif isinstance(event, TodosUpdated):
            from opencode.sessions.todos import summary

            current = next((t for t in event.todos if t.status == "in_progress"), None)
            doing = f"; now: {current.content}" if current is not None else ""
            self._err(f"todo: {summary(event.todos)}{doing}")
        elif isinstance(event, PermissionAsked) and event.decision == "deny":
            if event.reason in ASKED_REASONS:  # it would have asked; headless cannot
                advice = f"allow it with --allow {event.tool} or --yes"
            else:  # a configured deny rule: nothing on the command line overrides it
                advice = (
                    "deny rules win over --yes and --allow; see "
                    f"`opencode permission explain {event.tool} ...`"
                )
            self._err(
                f"permission: {event.tool} on {event.subject!r} denied ({event.reason}); {advice}"
            )
        elif isinstance(event, ErrorOccurred):
            self._err(f"error: {event.message}")
            if event.hint:
                self._err(f"hint: {event.hint}")
        elif isinstance(event, TurnFinished):
            if not self._at_line_start:
                self.out.write("\n")
                self.out.flush()
                self._at_line_start = True
            if event.finish == "max_steps":
                self._err(f"stopped after {event.steps} steps (--max-steps)")
            elif event.finish == "max_cost":
                self._err(
                    f"stopped after {event.steps} steps: this turn cost {event.cost or 0:.4f} "
                    "(--max-cost); the reply so far is saved, continue with -c"
                )

    def _child(self, event: SessionEvent, indent: str) -> None:
        if isinstance(event, SessionStarted):
            self._err(f"{indent}subagent {event.title!r} ({event.session_id}, {event.model})")
        elif isinstance(event, ToolStarted):
            self._err(f"{indent}→ {event.tool} {_key_argument(event.arguments)}".rstrip())
        elif isinstance(event, ToolFinished) and event.status != "completed":
            first = event.output.strip().splitlines()[0] if event.output.strip() else ""
            self._err(f"{indent}✗ {event.tool}: {first[:200]}")
        elif isinstance(event, ErrorOccurred):
            self._err(f"{indent}error: {event.message}")


# Events whose line copies some of their attributes as they are: event class -> (line type,
# attribute names in the order the line has them). The others are built in ``__call__``.
_PLAIN_LINES: dict[type, tuple[str, tuple[str, ...]]] = {
    ToolStarted: ("tool_call", ("call_id", "tool", "arguments")),
    PermissionAsked: ("permission", ("call_id", "tool", "subject", "decision", "reason")),
    ToolFinished: ("tool_result", ("call_id", "tool", "status", "output", "duration_ms")),
    ToolOutputDelta: ("tool_output", ("call_id", "text", "dropped")),
    ErrorOccurred: ("error", ("message", "hint")),
}


class JsonPrinter:
    """One JSON object per line on stdout."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self._parents: dict[str, str] = {}  # subagent session id -> parent session id

    def emit(self, kind: str, session_id: str, **fields: Any) -> None:
        record = {"v": JSON_SCHEMA_VERSION, "type": kind, "session_id": session_id}
        parent = self._parents.get(session_id)
        if parent is not None:
            record["parent_session_id"] = parent
        record.update(fields)
        self.out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self.out.flush()

    def emit_attributes(self, kind: str, source: Any, names: tuple[str, ...]) -> None:
        """A ``kind`` line of ``source``'s session whose fields are its attributes ``names``."""
        self.emit(kind, source.session_id, **{name: getattr(source, name) for name in names})

    def __call__(self, event: SessionEvent) -> None:
        plain = _PLAIN_LINES.get(type(event))
        if plain is not None:
            self.emit_attributes(plain[0], event, plain[1])
        elif isinstance(event, SessionStarted):
            extra: dict[str, Any] = {}
            if event.parent_id:
                self._parents[event.session_id] = event.parent_id
                extra["parent_call_id"] = event.parent_call_id
            self.emit(
                "session",
                event.session_id,
                title=event.title,
                model=event.model,
                cwd=event.cwd,
                resumed=event.resumed,
                **extra,
            )
        elif isinstance(event, PartDelta):
            if event.kind in ("text", "reasoning"):
                self.emit(event.kind, event.session_id, part_id=event.part_id, text=event.text)
        elif isinstance(event, TodosUpdated):
            self.emit(
                "todo",
                event.session_id,
                call_id=event.call_id,
                todos=[todo.to_json() for todo in event.todos],
            )
        elif isinstance(event, TurnFinished):
            self.emit(
                "finish",
                event.session_id,
                reason=event.finish,
                steps=event.steps,
                usage={
                    "input_tokens": event.usage.input_tokens,
                    "output_tokens": event.usage.output_tokens,
                },
                error=event.error,
                cost=event.cost,
                model=event.model,
            )
