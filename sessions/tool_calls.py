"""One tool call, start to end: parse the arguments, ask permission, execute, report.

Every step is an event on the bus (``ToolStarted``, ``PermissionAsked``, ``PermissionAnswered``,
``ToolFinished``); the store's subscriber persists them. The one direct write is a file's
before-image (``file_change``), which must be on disk before the tool changes the file and is
undo data, not a session row.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from opencode.sessions.events import (
    ErrorOccurred,
    EventBus,
    PermissionAnswered,
    PermissionAsked,
    ToolCallEnd,
    ToolFinished,
    ToolStarted,
)
from opencode.sessions.ids import new_id
from opencode.sessions.permissions_api import (
    PermissionAsker,
    PermissionPolicy,
    PermissionRequest,
    PermissionRequired,
)
from opencode.sessions.providers.base import ChatMessage
from opencode.sessions.rewind.snapshots import (
    ABSENT,
    SnapshotBudget,
    WorkspaceSnapshot,
    hash_file,
)
from opencode.sessions.secrets import scrub
from opencode.sessions.store.sessions import SessionRepo
from opencode.sessions.tools.base import PermissionSubject, Tool, ToolContext, ToolResult

if TYPE_CHECKING:
    from opencode.sessions.hooks import HookRunner

# A hard ceiling on one tool call, above the tools' own timeouts (bash allows up to 600 s).
TOOL_CEILING_S = 660.0

ToolStatus = Literal["completed", "error", "denied"]
# Tools whose calls in one step run concurrently (they wait on a model, not on the machine).
PARALLEL_TOOLS = frozenset({"task"})


def scrub_result(result: ToolResult, secrets: tuple[str, ...] = ()) -> ToolResult:
    """``result`` with secret values and URL passwords taken out of its output."""
    cleaned = scrub(result.output, extra=secrets)
    return result if cleaned == result.output else replace(result, output=cleaned)


class ToolCalls:
    """Runs the tool calls of one session's turns; shared state is the permission policy."""

    def __init__(
        self,
        *,
        bus: EventBus,
        repo: SessionRepo,
        cwd: Path,
        permissions: PermissionPolicy,
        asker: PermissionAsker,
        secrets: tuple[str, ...] = (),
        snapshot_budget: SnapshotBudget | None = None,
    ) -> None:
        self.bus = bus
        self.repo = repo
        self.cwd = cwd
        self.permissions = permissions
        self.asker = asker
        # Secrets that are not in the environment (keys written into opencode.toml itself).
        self.secrets = secrets
        # Set by the runner when config has hooks (sessions/hooks.py); None: no hooks.
        self.hooks: HookRunner | None = None
        # Bash snapshots (for rewind): one in-memory workspace snapshot per session, so each
        # bash call costs one stat walk when nothing changed.
        self.snapshot_budget = snapshot_budget or SnapshotBudget()
        self._snapshots: dict[str, WorkspaceSnapshot] = {}
        # call id -> (its final arguments, the permission subject last decided on for them);
        # handed to the tool so it acts on exactly what was approved (files.py resolves paths
        # once). The arguments object is kept to check identity: two calls that share an id
        # (a provider's bug) never get each other's subject.
        self._approved: dict[str, tuple[dict[str, Any], PermissionSubject]] = {}

    async def run_step(
        self,
        session_id: str,
        message_id: str,
        next_seq: Callable[[], int],
        calls: list[ToolCallEnd],
        offered: dict[str, Tool],
        cancel: asyncio.Event,
        *,
        max_parallel: int = 4,
    ) -> list[ChatMessage]:
        """Run one step's calls and return their tool messages in call order.

        Calls to ``PARALLEL_TOOLS`` (``task``: subagents, which mostly wait on a model) run
        concurrently, at most ``max_parallel`` at once; every other call runs one after
        another, as before. If anything ends the step early (a permission the asker must not
        answer, cancellation), the concurrent calls still running are cancelled and awaited, so
        each child persists its turn as interrupted before this returns or raises."""
        concurrent = [i for i, c in enumerate(calls) if c.name in PARALLEL_TOOLS]
        if len(concurrent) < 2:
            return [
                await self.run(session_id, message_id, next_seq, call, offered, cancel)
                for call in calls
            ]
        limit = asyncio.Semaphore(max(1, max_parallel))

        async def bounded(call: ToolCallEnd) -> ChatMessage:
            async with limit:
                return await self.run(session_id, message_id, next_seq, call, offered, cancel)

        tasks = {i: asyncio.ensure_future(bounded(calls[i])) for i in concurrent}
        results: dict[int, ChatMessage] = {}
        try:
            for i, call in enumerate(calls):
                if i not in tasks:
                    results[i] = await self.run(
                        session_id, message_id, next_seq, call, offered, cancel
                    )
            for i, task in tasks.items():
                results[i] = await task
        finally:
            pending = [t for t in tasks.values() if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        return [results[i] for i in range(len(calls))]

    async def run(
        self,
        session_id: str,
        message_id: str,
        next_seq: Callable[[], int],
        call: ToolCallEnd,
        offered: dict[str, Tool],
        cancel: asyncio.Event,
    ) -> ChatMessage:
        """Run ``call`` and return the tool message to send back to the model. Raises
        ``PermissionRequired`` (after recording the call as denied) when the asker must not
        answer."""
        from opencode.sessions.tools.base import ToolError
        from opencode.sessions.tools.registry import parse_arguments

        part_id = new_id("prt")
        seq = next_seq()
        try:
            shown_args = json.loads(call.arguments) if call.arguments.strip() else {}
        except json.JSONDecodeError:
            shown_args = {}
        if not isinstance(shown_args, dict):
            shown_args = {}
        await self.bus.emit(
            ToolStarted(
                session_id,
                message_id,
                part_id,
                seq,
                call.id,
                call.name,
                shown_args,
                call.arguments,
            )
        )
        started = time.monotonic()
        status: ToolStatus
        tool = offered.get(call.name)
        if tool is None:
            result = ToolResult(
                f"unknown tool {call.name!r}; available tools: "
                f"{', '.join(sorted(offered)) or '(none)'}",
                is_error=True,
            )
            status = "error"
        else:
            try:
                args = parse_arguments(tool, call.arguments)
            except ToolError as exc:
                result, status = ToolResult(str(exc), is_error=True), "error"
            else:
                # --- hooks: PreToolUse after the deny check, before asking (sessions/hooks.py)
                hooked = await self._pre_tool_use(session_id, call, tool, args)
                args = hooked.args
                # --- end hooks
                try:
                    allowed = hooked.blocked is None and (
                        hooked.approved
                        or await self._check_permission(session_id, call, tool, args)
                    )
                except PermissionRequired as exc:
                    # Not run and not interrupted: say so on the call before the turn ends.
                    await self._finish(
                        session_id,
                        message_id,
                        next_seq,
                        part_id,
                        call,
                        "denied",
                        ToolResult(str(exc), True),
                        0,
                    )
                    raise
                if hooked.blocked is not None:
                    result, status = ToolResult(hooked.blocked, is_error=True), "denied"
                elif allowed is not True:
                    subject = tool.permission_subject(args, self.cwd).subject
                    denied = (
                        f"Permission denied: a permission rule ({allowed}) does not allow"
                        if isinstance(allowed, str)
                        else "Permission denied: the user did not allow"
                    )
                    result = ToolResult(
                        f"{denied} {call.name} on {subject}. "
                        "Do not retry the same call; continue without it or ask the user.",
                        is_error=True,
                    )
                    status = "denied"
                else:
                    result = await self._execute(
                        session_id, call, tool, args, cancel, message_id, part_id
                    )
                    status = "error" if result.is_error else "completed"
                    # --- hooks: PostToolUse sees the result; feedback goes to the model
                    result = await self._post_tool_use(session_id, call, args, result)
        self._approved.pop(call.id, None)  # denied or failed calls leave no entry behind
        duration = int((time.monotonic() - started) * 1000)
        # Secret values (env tokens, keys, URL passwords) never reach the store, the screen or
        # the model, whatever the tool printed.
        result = scrub_result(result, self.secrets)
        await self._finish(
            session_id, message_id, next_seq, part_id, call, status, result, duration
        )
        return ChatMessage(
            role="tool",
            content=result.output,
            tool_call_id=call.id,
            name=call.name,
            is_error=result.is_error,
        )

    async def _finish(
        self,
        session_id: str,
        message_id: str,
        next_seq: Callable[[], int],
        part_id: str,
        call: ToolCallEnd,
        status: ToolStatus,
        result: ToolResult,
        duration_ms: int,
    ) -> None:
        await self.bus.emit(
            ToolFinished(
                session_id,
                message_id,
                part_id,
                new_id("prt"),
                next_seq(),
                call.id,
                call.name,
                status,
                result.output,
                duration_ms,
                result.metadata,
            )
        )

    async def _check_permission(
        self, session_id: str, call: ToolCallEnd, tool: Tool, args: dict[str, Any]
    ) -> bool | str:
        """True if the call may run; False if the person said no; the rule's text if a
        configured rule denied it (so the model and the user are told which)."""
        subject = tool.permission_subject(args, self.cwd)
        self._approved[call.id] = (args, subject)
        decision, rule = self.permissions.explain(call.name, subject)
        if decision == "allow":
            return True
        if decision == "deny":
            await self.bus.emit(
                PermissionAsked(session_id, call.id, call.name, subject.subject, "deny", rule)
            )
            return rule
        request = PermissionRequest(session_id, call.id, call.name, subject.subject, args)
        try:
            answer = await self.asker(request)
        except PermissionRequired:
            await self.bus.emit(
                PermissionAsked(
                    session_id,
                    call.id,
                    call.name,
                    subject.subject,
                    "deny",
                    "not asked (--on-ask fail)",
                )
            )
            raise
        await self.bus.emit(
            PermissionAnswered(session_id, call.id, call.name, subject.subject, answer)
        )
        if answer == "allow_session":
            self.permissions.grant_session(call.name, subject)
        allowed = answer != "deny"
        await self.bus.emit(
            PermissionAsked(
                session_id,
                call.id,
                call.name,
                subject.subject,
                "allow" if allowed else "deny",
                answer,
            )
        )
        return allowed

    async def _execute(
        self,
        session_id: str,
        call: ToolCallEnd,
        tool: Tool,
        args: dict[str, Any],
        cancel: asyncio.Event,
        message_id: str | None = None,
        part_id: str | None = None,
    ) -> ToolResult:

        changed: list[Path] = []

        async def record(path: Path, before: bytes | None) -> None:
            changed.append(path)
            await self.repo.record_file_change(
                session_id, call.id, path, before, message_id=message_id, part_id=part_id
            )

        snapshot = await self._snapshot_before(session_id) if call.name == "bash" else None
        result: ToolResult | None = None
        try:
            result = await self._execute_tool(session_id, call, tool, args, cancel, record)
        finally:
            # Also when cancelled: what a killed command already changed is still undoable.
            if changed:
                # How the call left each file: rewind refuses to overwrite a later change.
                hashes = await asyncio.to_thread(
                    lambda: {str(p): hash_file(p) or ABSENT for p in changed}
                )
                await self.repo.set_after_hashes(session_id, call.id, hashes)
            if snapshot is not None:
                report = await self._snapshot_after(
                    snapshot, session_id, call.id, message_id, part_id
                )
                if result is not None:
                    result.metadata["snapshot"] = report
        assert result is not None
        return result

    async def _snapshot_before(self, session_id: str) -> WorkspaceSnapshot | None:
        if not self.snapshot_budget.enabled:
            return None
        snapshot = self._snapshots.get(session_id)
        if snapshot is None:
            snapshot = WorkspaceSnapshot(self.cwd, self.snapshot_budget)
            self._snapshots[session_id] = snapshot
        try:
            await asyncio.to_thread(snapshot.before_call)
        except Exception:  # noqa: BLE001 - undo data must never stop the command itself
            self._snapshots.pop(session_id, None)
            return None
        return snapshot

    async def _snapshot_after(
        self,
        snapshot: WorkspaceSnapshot,
        session_id: str,
        call_id: str,
        message_id: str | None,
        part_id: str | None,
    ) -> dict[str, Any]:
        try:
            changes, report = await asyncio.to_thread(snapshot.after_call)
        except Exception as exc:  # noqa: BLE001 - reported, the command's result stands
            self._snapshots.pop(session_id, None)
            return {"error": f"workspace snapshot failed: {exc}"}
        await self.repo.record_file_changes(
            session_id,
            call_id,
            [(Path(c.path), c.before, c.after_hash) for c in changes],
            message_id=message_id,
            part_id=part_id,
            source="bash",
        )
        return report.to_metadata()

    def _approved_subject(self, call_id: str, args: dict[str, Any]) -> PermissionSubject | None:
        decided = self._approved.pop(call_id, None)
        return decided[1] if decided is not None and decided[0] is args else None

    async def _execute_tool(
        self,
        session_id: str,
        call: ToolCallEnd,
        tool: Tool,
        args: dict[str, Any],
        cancel: asyncio.Event,
        record: Callable[[Path, bytes | None], Any],
    ) -> ToolResult:
        from opencode.sessions.tool_output import OutputRelay
        from opencode.sessions.tools.registry import execute

        # Live output (bash): throttled ToolOutputDelta events while the call runs.
        relay = OutputRelay(self.bus.emit, session_id, call.id, self.secrets)
        ctx = ToolContext(
            cwd=self.cwd,
            session_id=session_id,
            call_id=call.id,
            record_change=record,
            cancel=cancel,
            approved=self._approved_subject(call.id, args),
            on_output=relay.feed,
            emit=self.bus.emit,
            store=self.repo.store,
        )
        try:
            return await asyncio.wait_for(execute(tool, args, ctx), TOOL_CEILING_S)
        except TimeoutError:
            return ToolResult(
                f"tool {call.name} did not finish within {TOOL_CEILING_S:.0f} s and was stopped",
                is_error=True,
            )
        finally:
            await relay.close()  # no delta after the call's ToolFinished

    # ------------------------------------------------------------------ hooks (sessions/hooks.py)

    async def _pre_tool_use(
        self, session_id: str, call: ToolCallEnd, tool: Tool, args: dict[str, Any]
    ) -> _Hooked:
        """PreToolUse: may block (reason to the model), rewrite the arguments (judged again by
        the permission rules) or approve a call that would be asked. A call config denies never
        reaches a hook."""
        from opencode.sessions.tools.base import ToolError
        from opencode.sessions.tools.registry import parse_arguments

        hooks = self.hooks
        if hooks is None or not hooks.for_event("PreToolUse", call.name):
            return _Hooked(args)
        if self.permissions.decide(call.name, tool.permission_subject(args, self.cwd)) == "deny":
            return _Hooked(args)
        outcome = await hooks.fire("PreToolUse", session_id, call.name, tool_input=args)
        await self._hook_problems(session_id, outcome.problems)
        if outcome.blocked:
            return _Hooked(args, blocked=f"Blocked by a PreToolUse hook: {outcome.reason}")
        if outcome.updated_input is not None:
            try:
                args = parse_arguments(tool, json.dumps({**args, **outcome.updated_input}))
            except (ToolError, TypeError, ValueError) as exc:
                return _Hooked(
                    args, blocked=f"A PreToolUse hook rewrote the arguments badly: {exc}"
                )
        subject = tool.permission_subject(args, self.cwd)
        self._approved[call.id] = (args, subject)
        decision = self.permissions.decide(call.name, subject)
        if decision == "deny":
            return _Hooked(args)
        return _Hooked(args, approved=outcome.approved and decision == "ask")

    async def _post_tool_use(
        self, session_id: str, call: ToolCallEnd, args: dict[str, Any], result: ToolResult
    ) -> ToolResult:
        """PostToolUse: sees the result; exit 2 / block reasons and context reach the model."""
        hooks = self.hooks
        if hooks is None or not hooks.for_event("PostToolUse", call.name):
            return result
        outcome = await hooks.fire(
            "PostToolUse",
            session_id,
            call.name,
            tool_input=args,
            tool_response={"output": result.output, "is_error": result.is_error},
        )
        await self._hook_problems(session_id, outcome.problems)
        notes = [f"PostToolUse hook: {outcome.reason}"] if outcome.blocked else []
        notes += outcome.context
        if not notes:
            return result
        return ToolResult(
            result.output + "\n\n" + "\n".join(notes), result.is_error, result.metadata
        )

    async def _hook_problems(self, session_id: str, problems: list[str]) -> None:
        # Not a session row (no message id): shown to the user, never sent to the model.
        for line in problems:
            await self.bus.emit(
                ErrorOccurred(session_id, None, new_id("prt"), 0, line, "check the hook command")
            )


@dataclass(slots=True)
class _Hooked:
    """What PreToolUse hooks made of a call."""

    args: dict[str, Any]
    blocked: str | None = None
    approved: bool = False
