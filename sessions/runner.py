"""The agent loop: stream a turn, run the tools it asks for, send results back, repeat.

``Runner.send`` drives one user turn to its end (the model stops, ``max_steps``, an error, a
permission the caller refused to ask, or cancellation) and emits session events on the bus.
Every change to a session is an event (created, titled, messages, parts, usage, interrupted
marks, permission answers); the store's subscriber is the only writer of session rows. The one
direct write is a file's before-image, in ``tool_calls``. The conversation is rebuilt from
stored records by ``history``; one tool call's path (permission, execute, result) lives in
``tool_calls``; what one model call carries (system prompt, tools offered, provider
options) is shaped by ``requests``.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opencode.sessions.budget import CostBudget
from opencode.sessions.compaction import load_history
from opencode.sessions.config import Config
from opencode.sessions.corrections.source import RuleSource
from opencode.sessions.corrections.stream import corrected
from opencode.sessions.events import (
    Answered,
    ErrorOccurred,
    EventBus,
    Finish,
    MessageFinished,
    MessageStarted,
    PartDelta,
    PartFinished,
    PartKind,
    PartStarted,
    ProviderError,
    ProviderEvent,
    ReasoningDelta,
    SessionCreated,
    SessionStarted,
    SessionTitled,
    TextDelta,
    ToolCallEnd,
    TurnFinished,
    UnfinishedInterrupted,
    Usage,
)
from opencode.sessions.history import history_messages
from opencode.sessions.hooks import HookRunner
from opencode.sessions.ids import new_id
from opencode.sessions.instructions import Instructions, new_warnings
from opencode.sessions.mentions import mention_blocks, user_content
from opencode.sessions.permissions_api import (
    PermissionAnswer,
    PermissionAsker,
    PermissionPolicy,
    PermissionRequest,
    PermissionRequired,
)
from opencode.sessions.providers.base import (
    ChatMessage,
    Provider,
    ProviderConfig,
    ToolCall,
)
from opencode.sessions.requests import DEFAULT_SYSTEM_PROMPT, build_request, offered_tools
from opencode.sessions.store.db import Store
from opencode.sessions.store.sessions import SessionRecord, SessionRepo
from opencode.sessions.tool_calls import ToolCalls
from opencode.sessions.tools.base import Tool

if TYPE_CHECKING:
    from opencode.sessions.mcp.manager import McpManager
    from opencode.sessions.subagents import Subagents

# Re-exported: front ends import the asker contract and the loop's errors from here.
__all__ = [
    "PermissionAnswer",
    "PermissionAsker",
    "PermissionRequest",
    "PermissionRequired",
    "ProviderFactory",
    "Runner",
    "RunnerError",
    "history_messages",
]

# A text part is split once it holds this much, so no single row update grows unbounded.
PART_SEGMENT_CHARS = 1 << 20
_INTERNAL_HINT = "this is a bug or a broken store; the session is saved, resume it with -c"


class RunnerError(Exception):
    """The turn could not start (unknown session, bad model); the message says what to do."""


ProviderFactory = Callable[[ProviderConfig], Provider]


def _default_factory(config: ProviderConfig) -> Provider:
    from opencode.sessions.providers.factory import make_provider

    provider: Provider = make_provider(config)
    return provider


@dataclass(slots=True)
class _Step:
    """What one streamed assistant message produced."""

    message_id: str
    text: io.StringIO = field(default_factory=io.StringIO)
    calls: list[ToolCallEnd] = field(default_factory=list)
    usage: Usage | None = None
    finish: str = "stop"
    error: ProviderError | None = None
    seq: int = 0
    # From the resilience chain (``Answered``): the model that answered when it is not the
    # one asked for, and the call's cost (None: no price known, or no chain).
    model: str | None = None
    cost: float | None = None

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def finished(self, session_id: str, finish: str) -> MessageFinished:
        return MessageFinished(
            session_id, self.message_id, finish, self.usage, self.cost, self.model
        )


class Runner:
    def __init__(
        self,
        *,
        store: Store,
        config: Config,
        cwd: Path,
        bus: EventBus,
        permissions: PermissionPolicy,
        asker: PermissionAsker,
        provider_factory: ProviderFactory | None = None,
        tools: dict[str, Tool] | None = None,
        system_prompt: str | None = None,
        mcp: McpManager | None = None,
        hooks: HookRunner | None = None,
    ) -> None:
        """``hooks``: the parent's hook set for a subagent (None: load them here)."""
        self.store = store
        self.repo = SessionRepo(store)
        self.config = config
        self.cwd = cwd
        self.bus = bus
        self.permissions = permissions
        self.asker = asker
        self.provider_factory = provider_factory or _default_factory
        self._providers: dict[str, Provider] = {}
        # Correction rules (opencode patch ...) applied to every model stream of this runner.
        self.corrections = RuleSource(
            store,
            repair_tool_calls=bool(config.section("corrections").get("repair_tool_calls", True)),
        )
        # Subagents (the ``task`` tool): set by ``_add_task_tool``, or by the parent for a child.
        self.subagents: Subagents | None = None
        self.max_parallel = 4  # ``task`` calls of one step running at once ([agents])
        # The running top turn's --max-cost, handed to the subagents it starts (subagents.py):
        # a child runner gets its parent's and stops starting steps once it is spent.
        self.turn_budget: CostBudget | None = None
        if tools is None:
            from opencode.sessions.tools.registry import builtin_tools

            tools = builtin_tools(config.sandbox)
            self._add_task_tool(tools)
        self.tools = tools
        # A subagent's own system prompt (its profile's); None: the configured one.
        self.system_prompt = system_prompt
        # What the current turn offers and which model it uses: a ``task`` child inherits them.
        self.offered: dict[str, Tool] = {}
        self.model_ref: str | None = None
        self.mcp = mcp  # MCP servers' tools join ``offered`` per turn (started on first use)

        from opencode.sessions.rewind.snapshots import SnapshotBudget

        self.tool_calls = ToolCalls(
            bus=bus,
            repo=self.repo,
            cwd=cwd,
            permissions=permissions,
            asker=asker,
            secrets=config.literal_secrets(),
            snapshot_budget=SnapshotBudget.from_section(
                config.section("rewind"), exclude=(config.data_dir,)
            ),
        )
        if self.subagents is not None:
            # This session's own questions queue with its children's: one modal at a time.
            self.tool_calls.asker = self.subagents.tree_asker
        # Hooks (sessions/hooks.py): SessionStart, UserPromptSubmit, Stop here; tool hooks in
        # tool_calls. Context a SessionStart hook printed joins that session's system prompt.
        # A subagent reuses its parent's hooks: project files are never re-read mid-session,
        # where a command may have written a new .claude/settings.local.json (review C3).
        self.hooks = hooks if hooks is not None else _hook_runner(config, cwd)
        self.tool_calls.hooks = self.hooks
        self._hook_context: dict[str, list[str]] = {}
        self.instructions: Instructions | None = None  # the AGENTS.md files of the last turn
        # Sessions started here whose row the store has not written yet: it is written with
        # the first message, so a session nobody spoke in never becomes a row.
        self._unsaved: dict[str, SessionRecord] = {}
        self._cancel = asyncio.Event()

    def _add_task_tool(self, tools: dict[str, Tool]) -> None:
        """Offer ``task`` (subagents) with the default tools unless ``[agents] enabled`` is
        false; a child runner gets its own, one level deeper (``Subagents.run``)."""
        from opencode.sessions.agents import agent_limits
        from opencode.sessions.subagents import Subagents
        from opencode.sessions.tools.task import TaskTool

        self.subagents = Subagents(self)
        limits = agent_limits(self.config)
        self.max_parallel = limits.max_parallel
        if limits.enabled:
            tools.setdefault("task", TaskTool(self.subagents))

    # ------------------------------------------------------------------ sessions

    async def start_session(
        self,
        *,
        session_id: str | None = None,
        continue_latest: bool = False,
        title: str | None = None,
        model: str | None = None,
        parent_id: str | None = None,
        parent_call_id: str | None = None,
    ) -> SessionRecord:
        """Resume ``session_id`` (or the latest here), or begin a new session (a child of
        ``parent_id`` for a subagent). A new session's row is written with its first message."""
        record: SessionRecord | None = None
        if session_id:
            record = await self.repo.get(session_id)
            if record is None:
                raise RunnerError(
                    f"no session {session_id!r} in {self.store.path}; "
                    "list them with `opencode session list`"
                )
        elif continue_latest:
            record = await self.repo.latest(self.cwd)
            if record is None:
                raise RunnerError(
                    f"no earlier session in {self.cwd} to continue; drop -c to start one"
                )
        resumed = record is not None
        if record is None:
            ref = model or self.config.model
            self.config.resolve_model(ref)  # fail before creating anything
            record = _new_record(self.cwd, ref, title or "", parent_id)
            self._unsaved[record.id] = record
            await self.bus.emit(
                SessionCreated(record.id, record.cwd, record.model, record.title, parent_id)
            )
        else:
            await self.bus.emit(UnfinishedInterrupted(record.id))
            for tool, subject in await self.repo.session_grants(record.id):
                self.permissions.grant_session(tool, subject)
            if title:
                record.title = title
                await self.bus.emit(SessionTitled(record.id, title))
        await self.bus.emit(
            SessionStarted(
                session_id=record.id,
                title=record.title,
                model=model or record.model,
                cwd=record.cwd,
                resumed=resumed,
                parent_id=record.parent_id,
                parent_call_id=parent_call_id,
            )
        )
        # --- hooks: SessionStart (its context joins this session's system prompt)
        started = await self.hooks.fire(
            "SessionStart", record.id, source="resume" if resumed else "startup"
        )
        await self._hook_problems(record.id, started.problems)
        self._hook_context[record.id] = started.context
        return record

    def _provider(self, config: ProviderConfig) -> Provider:
        provider = self._providers.get(config.name)
        if provider is None:
            provider = self.provider_factory(config)
            self._providers[config.name] = provider
        return provider

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()

    # ------------------------------------------------------------------ the loop

    async def send(
        self,
        session_id: str,
        text: str,
        *,
        model: str | None = None,
        max_steps: int | None = None,
        request_options: dict[str, Any] | None = None,
        max_cost: float | None = None,
        mentions: bool = False,
    ) -> TurnFinished:
        """One user turn. ``max_cost``: no further step starts once the turn's known cost
        exceeds it (finish ``max_cost``); the step that crossed it is kept whole. ``mentions``:
        typed by a person, so its ``@path`` mentions are attached."""
        session = self._unsaved.get(session_id) or await self.repo.get(session_id)
        if session is None:
            raise RunnerError(f"no session {session_id!r}")
        ref = model or session.model or self.config.model
        provider_config, model_name = self.config.resolve_model(ref)
        try:
            provider = self._provider(provider_config)
        except Exception as exc:  # e.g. an unknown api in code that bypassed config checks
            raise RunnerError(f"provider {provider_config.name!r} cannot be used: {exc}") from exc
        offered = offered_tools(self.tools, {**provider_config.options, **(request_options or {})})
        self.offered, self.model_ref = offered, ref
        # The newest compaction of the session, if any, stands in for the messages it covers.
        history = await load_history(self.repo, self.config, session.id, ref)
        if not session.title:
            session.title = _title_from(text)
            await self.bus.emit(SessionTitled(session.id, session.title))

        # --- hooks: UserPromptSubmit may block the prompt (nothing is sent) or add context
        submitted = await self.hooks.fire("UserPromptSubmit", session.id, prompt=text)
        await self._hook_problems(session.id, submitted.problems)
        if submitted.blocked:
            reason = f"prompt blocked by a UserPromptSubmit hook: {submitted.reason}"
            await self._hook_problems(session.id, [reason])
            blocked = TurnFinished(session.id, "blocked", Usage(), 0, reason)
            await self.bus.emit(blocked)
            return blocked
        turn_system = self._system_prompt(session.id, submitted.context)
        await self._hook_problems(session.id, new_warnings(self.instructions))
        # --- end hooks

        user_id = new_id("msg")
        await self.bus.emit(MessageStarted(session.id, user_id, "user"))
        await self.bus.emit(PartStarted(session.id, user_id, new_id("prt"), 1, "text", text))
        blocks, stop = await mention_blocks(self, session.id, user_id, text, mentions)
        await self.bus.emit(MessageFinished(session.id, user_id, "stop"))
        self._unsaved.pop(session.id, None)  # the store wrote its row with this message
        if stop is not None:  # a mention needed a permission nobody may give (--on-ask fail)
            await self.bus.emit(stop)
            return stop
        history.append(ChatMessage(role="user", content=user_content(text, blocks)))

        limit = max_steps or self.config.max_steps
        total = Usage()
        steps = 0
        finish = "stop"
        error_text: str | None = None
        step: _Step | None = None
        cost: float | None = None  # the turn's, over the steps whose cost is known
        answered_by: str | None = None
        # What this turn's subagents spent (their messages' costs, on this bus): part of what
        # the turn cost, so --max-cost counts it too.
        spent_by_children: list[float] = []
        # A turn with max_cost owns a budget that its subagents draw from; a subagent's turn
        # (no max_cost of its own) stops at its parent turn's.
        owns_budget = max_cost is not None
        budget = CostBudget(max_cost) if max_cost is not None else self.turn_budget
        if owns_budget:
            self.turn_budget = budget
        tree = {session.id}  # this session and the subagent sessions started under it

        def children(event: object) -> None:
            if isinstance(event, SessionStarted) and event.parent_id in tree:
                tree.add(event.session_id)
            elif (
                isinstance(event, MessageFinished)
                and event.session_id != session.id
                and event.session_id in tree
                and event.cost is not None
            ):
                spent_by_children.append(event.cost)
                if owns_budget and budget is not None:
                    budget.spent += event.cost  # at once: a running child checks it per step

        unsubscribe = self.bus.subscribe(children)
        self._cancel = asyncio.Event()
        try:
            if self.mcp is not None:
                # After the user's message is saved, inside the try: a slow server start is
                # cancellable and the turn still finishes as interrupted.
                offered = await self.mcp.offer(
                    offered, {**provider_config.options, **(request_options or {})}
                )
            while True:
                if steps >= limit:
                    finish = "max_steps"
                    break
                if spent_by_children:
                    cost = (cost or 0.0) + sum(spent_by_children)
                    spent_by_children.clear()
                if max_cost is not None and cost is not None and cost > max_cost:
                    finish = "max_cost"
                    break
                if not owns_budget and budget is not None and budget.exhausted:
                    finish = "max_cost"  # the parent turn's limit, spent by the whole tree
                    break
                steps += 1
                request = build_request(
                    model_name, turn_system, history, provider_config, request_options, offered
                )
                step = _Step(message_id=new_id("msg"))
                await self.bus.emit(MessageStarted(session.id, step.message_id, "assistant", ref))
                corrector = await self.corrections.corrector(ref, offered)
                await self._stream(session.id, step, corrected(provider.stream(request), corrector))
                await self.corrections.record(corrector, model_ref=ref, session_id=session.id)
                total = _add(total, step.usage)
                if step.cost is not None:
                    cost = (cost or 0.0) + step.cost
                    if owns_budget and budget is not None:
                        budget.spent += step.cost
                answered_by = step.model or answered_by
                if step.error is not None:
                    await self._emit_error(session.id, step, step.error)
                    await self.bus.emit(
                        MessageFinished(
                            session.id, step.message_id, "error", step.usage, step.cost, step.model
                        )
                    )
                    finish, error_text = "error", _error_line(step.error)
                    break
                if not step.calls:
                    await self.bus.emit(
                        MessageFinished(
                            session.id,
                            step.message_id,
                            step.finish,
                            step.usage,
                            step.cost,
                            step.model,
                        )
                    )
                    finish = step.finish
                    break
                history.append(
                    ChatMessage(
                        role="assistant",
                        content=step.text.getvalue(),
                        tool_calls=tuple(ToolCall(c.id, c.name, c.arguments) for c in step.calls),
                    )
                )
                history.extend(
                    await self.tool_calls.run_step(
                        session.id,
                        step.message_id,
                        step.next_seq,
                        step.calls,
                        offered,
                        self._cancel,
                        max_parallel=self.max_parallel,
                    )
                )
                await self.bus.emit(
                    MessageFinished(
                        session.id, step.message_id, "tool_calls", step.usage, step.cost, step.model
                    )
                )
                step = None
        except PermissionRequired as exc:
            if step is not None:
                await self.bus.emit(
                    MessageFinished(
                        session.id, step.message_id, "permission", step.usage, step.cost, step.model
                    )
                )
            finish, error_text = "permission_required", str(exc)
        except asyncio.CancelledError:
            self._cancel.set()
            unsubscribe()
            if owns_budget:
                self.turn_budget = None
            if step is not None:
                await self.bus.emit(
                    MessageFinished(
                        session.id,
                        step.message_id,
                        "interrupted",
                        step.usage,
                        step.cost,
                        step.model,
                    )
                )
            await self.bus.emit(
                TurnFinished(session.id, "interrupted", total, steps, None, cost, answered_by)
            )
            raise
        except Exception as exc:
            # A bug or an unusable store must not leave the turn open with no finish: record
            # what happened where the user will see it, then end the turn as an error.
            error_text = f"internal error: {type(exc).__name__}: {exc}"
            if step is not None:
                await self._emit_error(
                    session.id, step, ProviderError(error_text, hint=_INTERNAL_HINT)
                )
                await self.bus.emit(
                    MessageFinished(
                        session.id, step.message_id, "error", step.usage, step.cost, step.model
                    )
                )
            else:
                await self.bus.emit(
                    ErrorOccurred(session.id, None, new_id("prt"), 0, error_text, _INTERNAL_HINT)
                )
            finish = "error"
        unsubscribe()
        if owns_budget:
            self.turn_budget = None
        if spent_by_children:  # a step's children, when the turn ended right after it
            cost = (cost or 0.0) + sum(spent_by_children)
        event = TurnFinished(session.id, finish, total, steps, error_text, cost, answered_by)
        await self.bus.emit(event)
        # --- hooks: Stop (reported only; a Stop hook does not make the model go on)
        stopped = await self.hooks.fire("Stop", session.id, finish=finish, stop_hook_active=False)
        await self._hook_problems(session.id, stopped.problems)
        return event

    async def shell(self, session_id: str, command: str) -> TurnFinished:
        """A ``!command`` the user typed, as context for the next turn (shell_mode.py)."""
        from opencode.sessions.shell_mode import run_user_command

        session = self._unsaved.get(session_id) or await self.repo.get(session_id)
        if session is None:
            raise RunnerError(f"no session {session_id!r}")
        if not session.title:
            session.title = _title_from("!" + command)
            await self.bus.emit(SessionTitled(session.id, session.title))
        finished = await run_user_command(self, session.id, command)
        self._unsaved.pop(session.id, None)  # written with its message (send pops it too)
        return finished

    def _system_prompt(self, session_id: str, context: list[str]) -> str:
        """The configured (or built-in) prompt, the project's AGENTS.md files, hook context."""
        from opencode.sessions.instructions import system_prompt

        base = (
            self.system_prompt  # a subagent's (its profile's prompt on the parent's)
            or self.config.system_prompt
            or DEFAULT_SYSTEM_PROMPT.format(cwd=self.cwd)
        )
        prompt, self.instructions = system_prompt(base, self.cwd)
        extra = [*self._hook_context.get(session_id, []), *context]
        if extra:
            prompt += "\n\nContext from hooks:\n" + "\n\n".join(extra)
        return prompt

    async def _hook_problems(self, session_id: str, lines: list[str]) -> None:
        # Shown to the user (no message id: not a session row, never sent to the model).
        for line in lines:
            await self.bus.emit(ErrorOccurred(session_id, None, new_id("prt"), 0, line, None))

    async def _stream(
        self, session_id: str, step: _Step, events: AsyncGenerator[ProviderEvent, None]
    ) -> None:
        open_part: tuple[str, PartKind, int] | None = None  # (part id, kind, chars so far)

        async def close_part() -> None:
            nonlocal open_part
            if open_part is not None:
                await self.bus.emit(PartFinished(session_id, open_part[0], open_part[1]))
                open_part = None

        async with aclosing(events) as stream:
            async for event in stream:
                if isinstance(event, TextDelta | ReasoningDelta):
                    if not event.text:
                        continue
                    kind: PartKind = "text" if isinstance(event, TextDelta) else "reasoning"
                    if open_part is not None and (
                        open_part[1] != kind or open_part[2] >= PART_SEGMENT_CHARS
                    ):
                        await close_part()
                    if open_part is None:
                        part_id = new_id("prt")
                        await self.bus.emit(
                            PartStarted(session_id, step.message_id, part_id, step.next_seq(), kind)
                        )
                        open_part = (part_id, kind, 0)
                    await self.bus.emit(PartDelta(session_id, open_part[0], kind, event.text))
                    open_part = (open_part[0], kind, open_part[2] + len(event.text))
                    if kind == "text":
                        step.text.write(event.text)
                elif isinstance(event, ToolCallEnd):
                    await close_part()
                    step.calls.append(event)
                elif isinstance(event, Usage):
                    step.usage = event
                elif isinstance(event, Finish):
                    step.finish = event.reason
                elif isinstance(event, Answered):
                    step.cost = event.cost
                    if event.requested is not None and event.model != event.requested:
                        step.model = event.model  # a fallback answered
                elif isinstance(event, ProviderError):
                    step.error = event
                    break
        await close_part()
        if step.calls and step.error is None:
            step.finish = "tool_calls"

    async def _emit_error(self, session_id: str, step: _Step, error: ProviderError) -> None:
        await self.bus.emit(
            ErrorOccurred(
                session_id,
                step.message_id,
                new_id("prt"),
                step.next_seq(),
                error.message,
                error.hint,
            )
        )


def _hook_runner(config: Config, cwd: Path) -> HookRunner:
    from opencode.sessions.config import ConfigError
    from opencode.sessions.hooks import HookConfigError, HookRunner, load_hooks

    try:
        hooks = load_hooks(config.section("hooks"), cwd, config.sources)
    except HookConfigError as exc:
        raise ConfigError(str(exc)) from exc
    return HookRunner(hooks, cwd, config.data_dir / "hooks.jsonl")


def _add(total: Usage, usage: Usage | None) -> Usage:
    if usage is None:
        return total
    return Usage(
        total.input_tokens + usage.input_tokens,
        total.output_tokens + usage.output_tokens,
        total.cache_read_tokens + usage.cache_read_tokens,
        total.cache_write_tokens + usage.cache_write_tokens,
    )


def _error_line(error: ProviderError) -> str:
    return f"{error.message} (hint: {error.hint})" if error.hint else error.message


def _new_record(cwd: Path, model: str, title: str, parent_id: str | None) -> SessionRecord:
    now = time.time()
    return SessionRecord(
        id=new_id("ses"),
        parent_id=parent_id,
        title=title,
        cwd=str(cwd),
        model=model,
        input_tokens=0,
        output_tokens=0,
        cost=0.0,
        created_at=now,
        updated_at=now,
    )


def _title_from(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "untitled"
    return line[:60] + ("…" if len(line) > 60 else "")
