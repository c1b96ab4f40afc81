"""Child sessions: one ``task`` call runs a fresh agent and returns its final text.

A child is a session of its own (``parent_id`` set, resumable with ``opencode run -s ID``) run
by its own ``Runner`` that shares the parent's store, bus, asker and provider factory: its
events reach the same store writer, printer and transcript, tagged with the child's session id
(``SessionStarted.parent_id`` / ``parent_call_id`` say where it hangs). It gets its profile's
prompt, tools and model, and never more tools or looser permissions than its parent.

A child session reopened on its own (``opencode run -s CHILD``, the TUI) continues as the agent
it was started as (``resume_profile``): the parent's ``task`` result (or call) names the
profile, and the profile's tools (MCP tools it names included), prompt, step budget and
stricter permissions are put back on the runner; its model is the session's own.

The child ends as a ``ChildOutcome`` whatever happens (its own error, a deadline, its token
budget, a permission it could not get); only cancelling the parent propagates, after every
child has persisted its turn as interrupted.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opencode.sessions.agents import AgentLimits, AgentProfile, agent_limits, load_profiles
from opencode.sessions.events import (
    MessageFinished,
    MessageStarted,
    PartDelta,
    SessionEvent,
    Usage,
)
from opencode.sessions.permissions_api import (
    PermissionAction,
    PermissionAnswer,
    PermissionAsker,
    PermissionPolicy,
    PermissionRequest,
)
from opencode.sessions.tools.base import PermissionSubject

if TYPE_CHECKING:
    from opencode.sessions.runner import Runner
    from opencode.sessions.store.db import Store
    from opencode.sessions.store.sessions import SessionRecord
    from opencode.sessions.tools.base import Tool

SUBAGENT_NOTE = (
    "You are a subagent: another agent handed you one task. Work on it alone (nobody will "
    "answer questions), then end with one final message that is your whole answer: it is "
    "returned to that agent verbatim."
)
_STRICTNESS: dict[str, int] = {"allow": 0, "ask": 1, "deny": 2}


class ChildPermissions:
    """The parent's decision, made stricter by the profile's overrides (never looser).

    The parent's deny rules, ``--yes``/``--allow`` and session grants apply as they are; an
    "allow for this session" answered for the child is kept for the child only.
    """

    def __init__(self, parent: PermissionPolicy, overrides: dict[str, str]) -> None:
        self.parent = parent
        self.overrides = dict(overrides)
        self._grants: set[tuple[str, str]] = set()

    def decide(self, tool_name: str, subject: PermissionSubject, /) -> PermissionAction:
        return self.explain(tool_name, subject)[0]

    def explain(
        self, tool_name: str, subject: PermissionSubject, /
    ) -> tuple[PermissionAction, str]:
        action, rule = self.parent.explain(tool_name, subject)
        if action == "ask" and (
            (tool_name, subject.subject) in self._grants or (tool_name, "*") in self._grants
        ):
            action, rule = "allow", "allowed for this subagent's session"
        override = self.overrides.get(tool_name)
        if override in _STRICTNESS and _STRICTNESS[override] > _STRICTNESS[action]:
            action, rule = override, f"agent profile: {tool_name} = {override}"  # type: ignore[assignment]
        return action, rule

    def grant_session(self, tool: str, subject: PermissionSubject | str, /) -> None:
        text = subject if isinstance(subject, str) else subject.subject
        self._grants.add((tool, text))


@dataclass(slots=True)
class ChildOutcome:
    """How a child ended. ``finish``: stop/length/max_steps/error/permission_required (its
    turn's own), or timeout/budget (stopped from here), or refused (never started)."""

    session_id: str | None
    agent: str
    finish: str
    text: str = ""
    error: str | None = None
    steps: int = 0
    usage: Usage = field(default_factory=Usage)

    @property
    def ok(self) -> bool:
        return self.finish in ("stop", "length")


class Subagents:
    """Spawns the children of one runner; ``depth`` is that runner's (0 for a top session)."""

    def __init__(
        self, runner: Runner, depth: int = 0, tree_asker: PermissionAsker | None = None
    ) -> None:
        self.runner = runner
        self.depth = depth
        # Parallel children ask one question at a time (one modal, one answer, in turn): one
        # locked asker for the whole tree, around the top session's own.
        self.tree_asker = tree_asker or _one_at_a_time(runner.asker)

    @property
    def limits(self) -> AgentLimits:
        return agent_limits(self.runner.config)

    def profiles(self) -> dict[str, AgentProfile]:
        return load_profiles(self.runner.config, self.runner.cwd)

    def child_tools(self, profile: AgentProfile, offered: dict[str, Tool]) -> dict[str, Tool]:
        """The profile's tools that the parent itself was offered (never more)."""
        if profile.tools is None:
            return dict(offered)
        return {name: offered[name] for name in profile.tools if name in offered}

    async def run(
        self,
        *,
        parent_session_id: str,
        parent_call_id: str | None,
        description: str,
        prompt: str,
        agent: str | None = None,
        offered: dict[str, Tool] | None = None,
        model: str | None = None,
    ) -> ChildOutcome:
        """Run one child turn to its end. ``offered`` defaults to the parent's current tools;
        ``model`` to the profile's, then the parent's current model."""
        from opencode.sessions.runner import Runner
        from opencode.sessions.tools.task import TaskTool

        limits = self.limits
        name = agent or "general"
        if self.depth >= limits.max_depth:
            return ChildOutcome(
                None,
                name,
                "refused",
                error=(
                    f"subagents may nest at most {limits.max_depth} deep ([agents] max_depth) "
                    "and this agent is already at that depth; do this part yourself"
                ),
            )
        if agent:
            profiles = self.profiles()
            profile = profiles.get(agent)
            if profile is None:
                return ChildOutcome(
                    None,
                    name,
                    "refused",
                    error=f"no agent profile {agent!r}; known: {', '.join(sorted(profiles))}",
                )
        else:
            profile = AgentProfile("general", source="built-in")
        parent = self.runner
        if offered is None:
            offered = dict(parent.offered) or dict(parent.tools)
        tools = self.child_tools(profile, offered)
        base = parent.config.system_prompt or _default_prompt(parent)
        system = "\n\n".join(p for p in (base, SUBAGENT_NOTE, profile.prompt) if p)
        child = Runner(
            store=parent.store,
            config=parent.config,
            cwd=parent.cwd,
            bus=parent.bus,
            permissions=ChildPermissions(parent.permissions, profile.permissions),
            asker=self.tree_asker,
            provider_factory=parent.provider_factory,
            tools=tools,
            system_prompt=system,
            hooks=parent.hooks,
        )
        # One connection pool and one rule cache for the whole tree: a child opening its own
        # HTTP client per model call costs more than its share of a parallel step. The
        # parent's ``aclose`` closes them, so the child's must not (see ``_drive``).
        child._providers = parent._providers
        child.corrections = parent.corrections
        child.subagents = Subagents(child, self.depth + 1, self.tree_asker)
        child.max_parallel = limits.max_parallel
        child.turn_budget = parent.turn_budget  # --max-cost covers the whole tree
        if "task" in tools:
            child.tools["task"] = TaskTool(child.subagents)
        ref = model or profile.model or parent.model_ref or parent.config.model
        try:
            record = await child.start_session(
                model=ref,
                title=description,
                parent_id=parent_session_id,
                parent_call_id=parent_call_id,
            )
        except Exception as exc:  # an unknown model in the profile, a store error
            return ChildOutcome(None, name, "error", error=f"could not start: {exc}")
        return await self._drive(child, record.id, name, prompt, profile, limits)

    async def _drive(
        self,
        child: Runner,
        session_id: str,
        name: str,
        prompt: str,
        profile: AgentProfile,
        limits: AgentLimits,
    ) -> ChildOutcome:
        outcome = ChildOutcome(session_id, name, "error")
        last_text: list[str] = []
        spent = [0]
        turn = asyncio.ensure_future(
            child.send(session_id, prompt, max_steps=profile.max_steps or None)
        )
        over_budget = False

        def watch(event: SessionEvent) -> None:
            nonlocal over_budget
            if event.session_id != session_id:
                return
            if isinstance(event, MessageStarted) and event.role == "assistant":
                last_text.clear()
            elif isinstance(event, PartDelta) and event.kind == "text":
                last_text.append(event.text)
            elif isinstance(event, MessageFinished) and event.usage is not None:
                spent[0] += event.usage.input_tokens + event.usage.output_tokens
                if limits.max_tokens is not None and spent[0] > limits.max_tokens:
                    if not turn.done() and not over_budget:
                        over_budget = True
                        turn.cancel()

        unsubscribe = child.bus.subscribe(watch)
        try:
            try:
                result = await asyncio.wait_for(turn, limits.timeout)
            except TimeoutError:
                outcome.finish = "timeout"
                outcome.error = (
                    f"did not finish within {limits.timeout:g} s ([agents] timeout) and was stopped"
                )
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if not over_budget or (current is not None and current.cancelling()):
                    raise  # the parent is being cancelled: the whole tree stops
                outcome.finish = "budget"
                outcome.error = (
                    f"used {spent[0]} tokens, over its budget of {limits.max_tokens} "
                    "([agents] max_tokens), and was stopped"
                )
            else:
                outcome.finish = result.finish
                outcome.steps = result.steps
                outcome.usage = result.usage
                if result.finish == "max_steps":
                    outcome.error = f"stopped after {result.steps} steps (its step budget)"
                elif result.finish == "max_cost" and child.turn_budget is not None:
                    budget = child.turn_budget
                    outcome.error = (
                        f"stopped after {result.steps} steps: the turn's cost limit "
                        f"(--max-cost {budget.limit:g}) is spent ({budget.spent:.4f} so far, "
                        "this subagent's calls included)"
                    )
                elif not outcome.ok:
                    outcome.error = result.error or f"ended with {result.finish}"
        finally:
            unsubscribe()  # no child.aclose(): its providers are the parent's
        outcome.text = "".join(last_text)
        return outcome


async def child_agent(store: Store, record: SessionRecord) -> str | None:
    """The profile a child session was started with, from its parent's records: the ``task``
    result naming the child (its metadata), else the ``task`` calls whose description is the
    child's title, when they agree. None: not a child, or nothing says."""
    if record.parent_id is None:
        return None
    rows = await store.fetchall(
        "SELECT kind, tool_args, metadata FROM part WHERE session_id = ? AND tool_name = 'task' "
        "AND kind IN ('tool_result', 'tool_call') ORDER BY created_at",
        (record.parent_id,),
    )
    by_title: set[str] = set()
    for row in rows:
        try:
            data = json.loads(row["metadata"] if row["kind"] == "tool_result" else row["tool_args"])
        except (TypeError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        if row["kind"] == "tool_result":
            if data.get("session_id") == record.id and isinstance(data.get("agent"), str):
                return str(data["agent"])
        elif str(data.get("description", "")).strip()[:80] == record.title:
            # a parent interrupted while the child ran has its call but no result
            by_title.add(str(data.get("agent") or "general"))
    return by_title.pop() if len(by_title) == 1 else None


async def resume_profile(runner: Runner, record: SessionRecord) -> AgentProfile | None:
    """Put a resumed child session's profile back on ``runner`` (made for a top session):
    its tools (never more than the runner has), its prompt and its stricter permissions.
    Returns the profile, or None for a top session or when the parent's records do not say
    (the session then continues as the runner is). A profile deleted since is a
    ``RunnerError`` naming it: continuing with every tool would hand out more than it had."""
    from opencode.sessions.runner import RunnerError
    from opencode.sessions.tools.task import TaskTool

    name = await child_agent(runner.store, record)
    if name is None:
        return None
    if name == "general":
        profile = AgentProfile("general", source="built-in")
    else:
        found = load_profiles(runner.config, runner.cwd).get(name)
        if found is None:
            raise RunnerError(
                f"session {record.id} is a subagent started as agent {name!r}, and no such "
                "profile is configured now: restore it (opencode.toml [agent.NAME] or "
                ".opencode/agents/NAME.md) to continue this session"
            )
        profile = found
    depth = 1
    parent = await runner.repo.get(record.parent_id) if record.parent_id else None
    while parent is not None and parent.parent_id is not None and depth < 64:
        depth += 1
        parent = await runner.repo.get(parent.parent_id)
    subagents = Subagents(runner, depth)
    tools = subagents.child_tools(profile, runner.tools)
    if "task" in tools:
        tools["task"] = TaskTool(subagents)
    runner.tools = tools
    if profile.tools is not None:
        # A profile's tool list is all it had, MCP tools named in it included (a live child
        # picks them from what its parent was offered): a list naming none starts no server.
        if runner.mcp is not None and not runner.mcp.may_offer(list(profile.tools)):
            runner.mcp = None
        runner.offer_only = frozenset(profile.tools)
    runner.max_steps = profile.max_steps or None  # as ``Subagents._drive`` runs its turns
    runner.subagents = subagents
    runner.permissions = ChildPermissions(runner.permissions, profile.permissions)
    runner.tool_calls.permissions = runner.permissions
    # The note for a child talking to its parent is left out: a person is talking now.
    base = runner.config.system_prompt or _default_prompt(runner)
    runner.system_prompt = "\n\n".join(p for p in (base, profile.prompt) if p)
    return profile


def _one_at_a_time(asker: PermissionAsker) -> PermissionAsker:
    lock = asyncio.Lock()

    async def ask(request: PermissionRequest) -> PermissionAnswer:
        async with lock:
            return await asker(request)

    return ask


def _default_prompt(runner: Runner) -> str:
    from opencode.sessions.requests import DEFAULT_SYSTEM_PROMPT

    return DEFAULT_SYSTEM_PROMPT.format(cwd=runner.cwd)


def result_text(outcome: ChildOutcome, limit: int) -> tuple[str, bool]:
    """What the parent's model reads: the child's final text, bounded (a note says where the
    rest is), or what went wrong. Returns (text, is_error)."""
    where = f"subagent session {outcome.session_id}" if outcome.session_id else "subagent"
    if outcome.ok:
        text = outcome.text.strip() or "(the subagent finished without a final message)"
        if len(text) > limit:
            text = (
                text[:limit] + f"\n\n[cut: the subagent's answer has {len(text)} characters, "
                f"the first {limit} are shown; the whole answer is in {where}]"
            )
        return text, False
    message = f"{where} ({outcome.agent}) failed: {outcome.error or outcome.finish}"
    partial = outcome.text.strip()
    if partial:
        message += f"\nits last text:\n{partial[:limit]}"
    return message, True
