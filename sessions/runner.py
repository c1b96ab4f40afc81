"""The agent loop: stream a turn, run the tools it asks for, send results back, repeat.

``Runner.send`` drives one user turn to its end (the model stops, ``max_steps``, an error, a
permission the caller refused to ask, or cancellation) and emits session events on the bus.
Every change to a session is an event (created, titled, messages, parts, usage, interrupted
marks, permission answers); the store's subscriber is the only writer of session rows. The one
direct write is a file's before-image, in ``tool_calls``. The conversation is rebuilt from
stored records by ``history``; one tool call's path (permission, execute, result) lives in
``tool_calls``; what one model call carries (system prompt, tools offered, provider
options) is shaped by ``requests``. Around the loop: starting or resuming a session
(``session_start``), what the user's input becomes before the first step (``user_input``), one
model call's stream into parts (``step_stream``), the turn's cost and ``--max-cost``
(``turn_cost``), and the hook wiring (``session_hooks``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opencode.sessions.budget import CostBudget
from opencode.sessions.compaction import load_history
from opencode.sessions.config import Config
from opencode.sessions.corrections.source import RuleSource
from opencode.sessions.corrections.stream import corrected
from opencode.sessions.events import EventBus, MessageStarted, TurnFinished, Usage
from opencode.sessions.history import history_messages
from opencode.sessions.hooks import HookRunner
from opencode.sessions.ids import new_id
from opencode.sessions.instructions import Instructions
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
from opencode.sessions.requests import build_request, offered_tools
from opencode.sessions.session_hooks import hook_problems, hook_runner
from opencode.sessions.session_start import RunnerError, start_session
from opencode.sessions.step_stream import (
    Step,
    add_usage,
    emit_step_error,
    error_line,
    record_internal_error,
    stream_step,
)
from opencode.sessions.store.db import Store
from opencode.sessions.store.sessions import SessionRecord, SessionRepo
from opencode.sessions.tool_calls import ToolCalls
from opencode.sessions.tools.base import Tool
from opencode.sessions.turn_cost import TurnCost
from opencode.sessions.user_input import open_turn, shell

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

ProviderFactory = Callable[[ProviderConfig], Provider]


def _default_factory(config: ProviderConfig) -> Provider:
    from opencode.sessions.providers.factory import make_provider

    provider: Provider = make_provider(config)
    return provider


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
        # A resumed subagent's profile (``subagents.resume_profile``): the only tool names it
        # may be offered, MCP tools included (None: no such limit), and its step budget.
        self.offer_only: frozenset[str] | None = None
        self.max_steps: int | None = None

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
        self.hooks = hooks if hooks is not None else hook_runner(config, cwd)
        self.tool_calls.hooks = self.hooks
        self.hook_context: dict[str, list[str]] = {}
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
        return await start_session(
            self,
            session_id=session_id,
            continue_latest=continue_latest,
            title=title,
            model=model,
            parent_id=parent_id,
            parent_call_id=parent_call_id,
        )

    def unsaved(self, record: SessionRecord) -> None:
        """A session started here whose row the store writes with its first message."""
        self._unsaved[record.id] = record

    def saved(self, session_id: str) -> None:
        """The store has written the session's row (with its first message)."""
        self._unsaved.pop(session_id, None)

    async def session_record(self, session_id: str) -> SessionRecord | None:
        return self._unsaved.get(session_id) or await self.repo.get(session_id)

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
        session = await self.session_record(session_id)
        if session is None:
            raise RunnerError(f"no session {session_id!r}")
        ref = model or session.model or self.config.model
        provider_config, model_name = self.config.resolve_model(ref)
        try:
            provider = self._provider(provider_config)
        except Exception as exc:  # e.g. an unknown api in code that bypassed config checks
            raise RunnerError(f"provider {provider_config.name!r} cannot be used: {exc}") from exc
        options = {**provider_config.options, **(request_options or {})}
        offered = offered_tools(self.tools, options)
        self.offered, self.model_ref = offered, ref
        # The newest compaction of the session, if any, stands in for the messages it covers.
        history = await load_history(self.repo, self.config, session.id, ref)
        opened = await open_turn(self, session, text, history, mentions)
        if isinstance(opened, TurnFinished):
            return opened
        turn_system = opened

        limit = max_steps or self.max_steps or self.config.max_steps
        total = Usage()
        steps = 0
        finish = "stop"
        error_text: str | None = None
        step: Step | None = None
        answered_by: str | None = None
        spend = TurnCost(self, session.id, max_cost)
        self._cancel = asyncio.Event()
        try:
            if self.mcp is not None:
                # After the user's message is saved, inside the try: a slow server start is
                # cancellable and the turn still finishes as interrupted.
                offered = await self.mcp.offer(offered, options)
                if self.offer_only is not None:
                    offered = {n: t for n, t in offered.items() if n in self.offer_only}
                self.offered = offered  # a ``task`` child picks from these, MCP tools too
            while True:
                if steps >= limit:
                    finish = "max_steps"
                    break
                if spend.spent():
                    finish = "max_cost"
                    break
                steps += 1
                request = build_request(
                    model_name, turn_system, history, provider_config, request_options, offered
                )
                step = Step(message_id=new_id("msg"))
                await self.bus.emit(MessageStarted(session.id, step.message_id, "assistant", ref))
                corrector = await self.corrections.corrector(ref, offered)
                stream = corrected(provider.stream(request), corrector)
                await stream_step(self.bus, session.id, step, stream)
                await self.corrections.record(corrector, model_ref=ref, session_id=session.id)
                total = add_usage(total, step.usage)
                spend.add_step(step.cost)
                answered_by = step.model or answered_by
                if step.error is not None:
                    await emit_step_error(self.bus, session.id, step, step.error)
                    await self.bus.emit(step.finished(session.id, "error"))
                    finish, error_text = "error", error_line(step.error)
                    break
                if not step.calls:
                    await self.bus.emit(step.finished(session.id, step.finish))
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
                await self.bus.emit(step.finished(session.id, "tool_calls"))
                step = None
        except PermissionRequired as exc:
            if step is not None:
                await self.bus.emit(step.finished(session.id, "permission"))
            finish, error_text = "permission_required", str(exc)
        except asyncio.CancelledError:
            self._cancel.set()
            spend.close()
            if step is not None:
                await self.bus.emit(step.finished(session.id, "interrupted"))
            await self.bus.emit(
                TurnFinished(session.id, "interrupted", total, steps, None, spend.cost, answered_by)
            )
            raise
        except Exception as exc:
            # A bug or an unusable store must not leave the turn open with no finish: record
            # what happened where the user will see it, then end the turn as an error.
            error_text = await record_internal_error(self.bus, session.id, step, exc)
            finish = "error"
        spend.close()
        cost = spend.final()  # with a step's children, when the turn ended right after it
        event = TurnFinished(session.id, finish, total, steps, error_text, cost, answered_by)
        await self.bus.emit(event)
        # --- hooks: Stop (reported only; a Stop hook does not make the model go on)
        stopped = await self.hooks.fire("Stop", session.id, finish=finish, stop_hook_active=False)
        await hook_problems(self.bus, session.id, stopped.problems)
        return event

    async def shell(self, session_id: str, command: str) -> TurnFinished:
        """A ``!command`` the user typed, as context for the next turn (shell_mode.py)."""
        return await shell(self, session_id, command)
