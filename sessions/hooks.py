"""Hooks: user commands run at points of a session, in Claude Code's shapes where they overlap.

Config (``opencode.toml``)::

    [[hooks.PreToolUse]]
    matcher = "bash|write"      # a regex on the tool name, case-insensitive; "" or "*": all
    command = "./check.sh"
    timeout = 10                # seconds, default 60

and, when present, ``.claude/settings.json``'s ``{"hooks": {"PreToolUse": [{"matcher": "Bash",
"hooks": [{"type": "command", "command": "...", "timeout": 10}]}]}}``.

Each hook is ``/bin/bash -c COMMAND`` in its own process group in the project folder, with the
event as JSON on stdin (``session_id``, ``cwd``, ``hook_event_name``, ``tool_name``,
``tool_input``, ``tool_response``, ``prompt``). Exit 0: stdout may be JSON
(``{"decision": "block"|"approve", "reason", "updatedInput", "additionalContext"}`` or Claude's
``hookSpecificOutput``); for ``UserPromptSubmit`` plain stdout is added context. Exit 2: block,
stderr is the reason (given to the model). Any other exit or a hook that cannot start: a
non-blocking error for the user; the turn goes on. A hook killed at its time limit (its whole
process group) is the same, except for ``PreToolUse``, which fails closed: the tool call is
blocked and the model told why. The verdict is the hook process's own exit status: background
children it leaves holding stdout/stderr are killed with its group ``DRAIN_GRACE_S`` after it
exits (detach them with ``>/dev/null 2>&1 &`` to keep them running). Several ``PreToolUse``
hooks run in order; each sees the input with every earlier ``updatedInput`` merged in, and the
final input is judged by the permission rules again. Every run is appended as one JSON line to
``<data_dir>/hooks.jsonl``.

Hooks never loosen a deny rule: the permission decision comes first, and a denied call never
reaches ``PreToolUse``. Provider secrets are left out of a hook's environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EVENTS = ("PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop", "SessionStart", "PreCompact")
TOOL_EVENTS = ("PreToolUse", "PostToolUse")
DEFAULT_TIMEOUT_S = 60.0
# After the hook process exits, how long its output may take to reach end-of-file before the
# children still holding the pipes are killed with its process group.
DRAIN_GRACE_S = 0.5
EXIT_POLL_S = 0.02
MAX_OUTPUT_BYTES = 64 * 1024
# Claude Code's tool names, for matchers written for it.
_CLAUDE_TOOLS = {
    "bash": "bash",
    "read": "read",
    "write": "write",
    "edit": "edit",
    "multiedit": "edit",
    "glob": "glob",
    "grep": "grep",
    "ls": "list",
}


class HookConfigError(ValueError):
    """A hook entry that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Hook:
    event: str
    command: str
    matcher: str = ""
    timeout: float = DEFAULT_TIMEOUT_S
    source: str = "opencode.toml"

    def matches(self, tool: str | None) -> bool:
        if self.event not in TOOL_EVENTS or self.matcher in ("", "*"):
            return True
        if tool is None:
            return False
        for name in {tool, tool.lower()}:
            try:
                if re.fullmatch(self.matcher, name, re.IGNORECASE):
                    return True
            except re.error:
                return self.matcher.lower() == name.lower()
        # A Claude matcher ("Bash", "Edit|Write", "MultiEdit"): compare on our names.
        wanted = {
            _CLAUDE_TOOLS.get(p.strip().lower(), p.strip().lower()) for p in self.matcher.split("|")
        }
        return tool.lower() in wanted


@dataclass(slots=True)
class HookRun:
    """What one hook did."""

    hook: Hook
    exit_code: int | None
    stdout: str
    stderr: str
    duration_ms: int
    timed_out: bool = False
    error: str | None = None  # could not start


@dataclass(slots=True)
class HookOutcome:
    """What all hooks of one event decided together."""

    blocked: bool = False
    reason: str = ""
    approved: bool = False
    updated_input: dict[str, Any] | None = None
    context: list[str] = field(default_factory=list)
    # Lines for the user: failed or timed-out hooks (non-blocking).
    problems: list[str] = field(default_factory=list)
    runs: list[HookRun] = field(default_factory=list)


def parse_hooks(config_hooks: Any, where: str = "opencode.toml", strict: bool = True) -> list[Hook]:
    """``[hooks]`` from opencode.toml: ``{EVENT: [{matcher, command, timeout}, ...]}``; also
    accepts Claude's nested ``{matcher, hooks: [{type, command, timeout}]}`` entries. Not
    ``strict`` (Claude's settings files): events we do not have are skipped, not refused."""
    if not config_hooks:
        return []
    if not isinstance(config_hooks, dict):
        raise HookConfigError(f"{where}: [hooks] must be a table of events ({', '.join(EVENTS)})")
    hooks: list[Hook] = []
    for event, entries in config_hooks.items():
        if event not in EVENTS:
            if not strict:
                continue  # a Claude Code event we have no counterpart for (Notification, ...)
            raise HookConfigError(
                f"{where}: unknown hook event {event!r}; events: {', '.join(EVENTS)}"
            )
        if not isinstance(entries, list):
            raise HookConfigError(
                f"{where}: hooks.{event} must be a list ([[hooks.{event}]] entries)"
            )
        for index, entry in enumerate(entries):
            label = f"{where}: hooks.{event}[{index}]"
            if not isinstance(entry, dict):
                raise HookConfigError(f'{label}: expected a table with command = "..."')
            matcher = entry.get("matcher", "")
            if not isinstance(matcher, str):
                raise HookConfigError(f"{label}: matcher must be a string (a tool name regex)")
            inner = entry.get("hooks")
            items = inner if isinstance(inner, list) else [entry]
            for item in items:
                if not isinstance(item, dict):
                    raise HookConfigError(f"{label}: each hook must be a table")
                if item.get("type", "command") != "command":
                    continue  # Claude's prompt hooks need a model: not supported, skipped
                command = item.get("command")
                if not isinstance(command, str) or not command.strip():
                    raise HookConfigError(f"{label}: command must be a non-empty string")
                timeout = item.get("timeout", DEFAULT_TIMEOUT_S)
                if (
                    isinstance(timeout, bool)
                    or not isinstance(timeout, int | float)
                    or timeout <= 0
                ):
                    raise HookConfigError(f"{label}: timeout must be a positive number of seconds")
                hooks.append(Hook(event, command, matcher, float(timeout), where))
    return hooks


def claude_settings_files(cwd: Path) -> list[Path]:
    """Claude Code's settings files that may hold hooks, in the order their hooks run."""
    return [
        Path.home() / ".claude" / "settings.json",
        cwd / ".claude" / "settings.json",
        cwd / ".claude" / "settings.local.json",
    ]


def load_hooks(config_section: dict[str, Any], cwd: Path, sources: list[Path]) -> list[Hook]:
    """Hooks from config (``[hooks]``), then from Claude Code's settings files."""
    where = str(sources[-1]) if sources else "opencode.toml"
    hooks = parse_hooks(config_section, where)
    from opencode.sessions.trust import ignore, project_root, state_for

    state = state_for(cwd)
    for settings in claude_settings_files(cwd):
        if not settings.is_file():
            continue
        if not state.trusted and project_root(settings).is_relative_to(state.root):
            # A project's own Claude settings run commands: only once the project is trusted.
            ignore(state, f"hooks in {settings}")
            continue
        try:
            data = json.loads(settings.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HookConfigError(f"{settings}: cannot read hooks: {exc}") from exc
        if isinstance(data, dict) and data.get("hooks"):
            hooks += parse_hooks(data["hooks"], str(settings), strict=False)
    return hooks


class HookRunner:
    """Runs the hooks of each event; records each run in ``log_path`` (JSON lines)."""

    def __init__(self, hooks: list[Hook], cwd: Path, log_path: Path | None = None) -> None:
        self.hooks = hooks
        self.cwd = cwd
        self.log_path = log_path

    def for_event(self, event: str, tool: str | None = None) -> list[Hook]:
        return [h for h in self.hooks if h.event == event and h.matches(tool)]

    async def fire(
        self, event: str, session_id: str, tool: str | None = None, **payload: Any
    ) -> HookOutcome:
        outcome = HookOutcome()
        hooks = self.for_event(event, tool)
        if not hooks:
            return outcome
        data: dict[str, Any] = {
            "session_id": session_id,
            "cwd": str(self.cwd),
            "hook_event_name": event,
            **({"tool_name": tool} if tool is not None else {}),
            **payload,
        }
        for hook in hooks:
            before = outcome.updated_input
            outcome.updated_input = None
            run = await run_hook(hook, data, self.cwd)
            outcome.runs.append(run)
            _interpret(run, outcome)
            rewrite, outcome.updated_input = outcome.updated_input, before
            if rewrite is not None:
                if isinstance(data.get("tool_input"), dict):
                    # Merged as tool_calls merges it: the next hook sees the whole input with
                    # every rewrite so far, and the outcome carries the accumulated input.
                    data["tool_input"] = {**data["tool_input"], **rewrite}
                    outcome.updated_input = dict(data["tool_input"])
                else:
                    outcome.updated_input = {**(before or {}), **rewrite}
            self._record(session_id, run, outcome)
            if outcome.blocked:
                break
        return outcome

    def _record(self, session_id: str, run: HookRun, outcome: HookOutcome) -> None:
        if self.log_path is None:
            return
        from opencode.sessions.secrets import scrub

        line = {
            "at": time.time(),
            "session_id": session_id,
            "event": run.hook.event,
            "matcher": run.hook.matcher,
            "command": scrub(run.hook.command),
            "source": run.hook.source,
            "exit_code": run.exit_code,
            "duration_ms": run.duration_ms,
            "timed_out": run.timed_out,
            "error": run.error,
            "blocked": outcome.blocked,
            "stderr": scrub(run.stderr[:2000]),
        }
        with contextlib.suppress(OSError):
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(line) + "\n")


async def run_hook(hook: Hook, data: dict[str, Any], cwd: Path) -> HookRun:
    """One hook: stdin is ``data`` as JSON; killed with its process group at its time limit.

    The verdict is the hook *process's* exit status: once it has exited, its output gets
    ``DRAIN_GRACE_S`` to reach end-of-file; background children still holding its stdout or
    stderr after that are killed with its process group and what was read so far is used.
    (Waiting for end-of-file instead turned a blocking ``exit 2`` into a timeout.)"""
    from opencode.sessions.secrets import secret_env_names

    hidden = secret_env_names()
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    env["OPENCODE_PROJECT_DIR"] = env["CLAUDE_PROJECT_DIR"] = str(cwd)
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            "/bin/bash",
            "-c",
            hook.command,
            cwd=str(cwd),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            env=env,
        )
    except OSError as exc:
        return HookRun(hook, None, "", "", 0, error=f"cannot start: {exc}")
    io = _HookIO(proc, json.dumps(data).encode())
    timed_out = False
    try:
        if not await io.exited(hook.timeout):
            timed_out = True
            _kill(proc.pid)
            await io.exited(5)
        await io.drain(0 if timed_out else DRAIN_GRACE_S)
    except asyncio.CancelledError:
        _kill(proc.pid)
        io.abandon()
        raise
    duration = int((time.monotonic() - started) * 1000)
    return HookRun(
        hook,
        proc.returncode if not timed_out else None,
        bytes(io.out).decode("utf-8", errors="replace"),
        bytes(io.err).decode("utf-8", errors="replace"),
        duration,
        timed_out=timed_out,
    )


class _HookIO:
    """A hook's stdin fed and its stdout/stderr read (bounded: a hook printing forever cannot
    fill our memory) in tasks, apart from waiting for the process itself."""

    def __init__(self, proc: asyncio.subprocess.Process, data: bytes) -> None:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        self.proc = proc
        self.out = bytearray()
        self.err = bytearray()
        self.tasks = [
            asyncio.ensure_future(self._feed(proc.stdin, data)),
            asyncio.ensure_future(self._read(proc.stdout, self.out)),
            asyncio.ensure_future(self._read(proc.stderr, self.err)),
        ]

    @staticmethod
    async def _feed(stdin: asyncio.StreamWriter, data: bytes) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(data)
            await stdin.drain()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.close()

    @staticmethod
    async def _read(stream: asyncio.StreamReader, kept: bytearray) -> None:
        while chunk := await stream.read(65536):
            if len(kept) < MAX_OUTPUT_BYTES:
                kept += chunk[: MAX_OUTPUT_BYTES - len(kept)]

    async def exited(self, limit_s: float) -> bool:
        """Whether the hook process itself exited within ``limit_s`` seconds. Polled: on
        Python 3.11 ``Process.wait()`` also waits for every pipe to close, which a background
        child holding stdout can postpone forever."""
        deadline = time.monotonic() + limit_s
        while self.proc.returncode is None:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(EXIT_POLL_S)
        return True

    async def drain(self, grace: float) -> None:
        """Let the output reach end-of-file within ``grace``; then kill what still holds the
        pipes (the hook's process group) and keep what was read."""
        readers = self.tasks[1:]
        if grace > 0:
            await asyncio.wait(readers, timeout=grace)
        if not all(t.done() for t in readers):
            _kill(self.proc.pid)
            await asyncio.wait(readers, timeout=1.0)
        self.abandon()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def abandon(self) -> None:
        """Stop feeding and reading; close our pipe ends if something still holds theirs (a
        daemon that left the hook's process group cannot keep us waiting)."""
        still_open = not all(t.done() for t in self.tasks[1:])
        for task in self.tasks:
            task.cancel()
        transport = getattr(self.proc, "_transport", None)
        if still_open and transport is not None:
            transport.close()  # the process has exited: this only closes the pipes


def _kill(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _interpret(run: HookRun, outcome: HookOutcome) -> None:
    hook = run.hook
    name = f"{hook.event} hook `{_short(hook.command)}` ({hook.source})"
    if run.error is not None:
        outcome.problems.append(f"{name} {run.error}")
        return
    if run.timed_out:
        if hook.event == "PreToolUse":
            # Fail closed: a guard that could not decide must not let the call through.
            outcome.blocked = True
            outcome.reason = (
                f"{name} did not finish within {hook.timeout:g} s and was killed; the tool call "
                "is blocked (a PreToolUse hook that cannot decide fails closed)"
            )
            outcome.problems.append(outcome.reason)
            return
        outcome.problems.append(
            f"{name} did not finish within {hook.timeout:g} s and was killed; the turn goes on"
        )
        return
    if run.exit_code == 2:
        outcome.blocked = True
        outcome.reason = run.stderr.strip() or f"blocked by {name}"
        return
    if run.exit_code != 0:
        detail = run.stderr.strip().splitlines()[-1:] or ["(no stderr)"]
        outcome.problems.append(f"{name} failed with exit code {run.exit_code}: {detail[0]}")
        return
    text = run.stdout.strip()
    parsed: Any = None
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            outcome.problems.append(f"{name} printed invalid JSON on stdout; ignored")
            return
    if isinstance(parsed, dict):
        _apply_json(parsed, outcome, name)
    elif text and hook.event in ("UserPromptSubmit", "SessionStart"):
        outcome.context.append(text)


def _apply_json(data: dict[str, Any], outcome: HookOutcome, name: str) -> None:
    specific = data.get("hookSpecificOutput")
    specific = specific if isinstance(specific, dict) else {}
    decision = data.get("decision") or {"deny": "block", "allow": "approve"}.get(
        str(specific.get("permissionDecision", ""))
    )
    reason = data.get("reason") or specific.get("permissionDecisionReason") or ""
    if decision == "block" or data.get("continue") is False:
        outcome.blocked = True
        outcome.reason = str(reason or data.get("stopReason") or f"blocked by {name}")
    elif decision == "approve":
        outcome.approved = True
    updated = data.get("updatedInput", specific.get("updatedInput"))
    if isinstance(updated, dict):
        outcome.updated_input = updated
    context = data.get("additionalContext", specific.get("additionalContext"))
    if isinstance(context, str) and context.strip():
        outcome.context.append(context.strip())


def _short(command: str) -> str:
    line = command.strip().splitlines()[0] if command.strip() else ""
    return line[:60] + ("…" if len(line) > 60 else "")
