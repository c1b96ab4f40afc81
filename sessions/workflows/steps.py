"""Executing agent steps and shell steps (registry commands are run by ``opencode.commands``).

Agent step: one session turn through ``Engine`` (a fresh engine per step, sharing the run's
store), headless: tools in the workflow's ``allow`` list run without asking, everything else
follows config, and whatever would ask is denied. ``agent = "NAME"`` picks a system prompt: from
``opencode.sessions.agents`` when that module exists, else from the small built-in set below.

Shell step: the bash tool's own path: the permission decision of ``Permissions.explain_bash``
(deny rules win; ``allow = ["bash"]`` in the workflow allows; would-ask is refused), then
``BashTool`` runs it (sandboxed where available, process group killed on timeout).
"""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from opencode.sessions.agents import AgentProfile, load_profiles
from opencode.sessions.workflows.executor import StepOutcome

if TYPE_CHECKING:
    from opencode.sessions.config import Config
    from opencode.sessions.runner import ProviderFactory
    from opencode.sessions.store.db import Store
    from opencode.sessions.workflows.spec import StepSpec

# Profiles the seed's loops need beyond the agent profiles every session has (review, test,
# docs from sessions.agents): defaults a project can override with [agent.NAME] or a file.
WORKFLOW_PROFILES: dict[str, AgentProfile] = {
    "debug": AgentProfile(
        "debug",
        "Finds the cause of a failure and fixes it",
        "You are a debugging engineer. Find the cause of the failure described, with "
        "evidence from logs and code, and fix it with the smallest change.",
        source="workflow built-in",
    ),
    "code": AgentProfile(
        "code",
        "Makes the change asked for",
        "You are a software engineer. Make the change asked for, in the project's style, "
        "and keep the tests passing.",
        source="workflow built-in",
    ),
}


def profiles(config: Config, cwd: Path) -> dict[str, AgentProfile]:
    """Every profile an agent step may name: the workflow defaults under the session's own
    (built-in, ``[agent.NAME]``, ``.opencode/agents/*.md``), which win a clash."""
    return {**WORKFLOW_PROFILES, **load_profiles(config, cwd)}


async def run_shell(
    step: StepSpec, *, config: Config, cwd: Path, allow: tuple[str, ...]
) -> StepOutcome:
    from opencode.sessions.tools.base import ToolContext
    from opencode.sessions.tools.permissions import Permissions
    from opencode.sessions.tools.shell import BashTool

    permissions = Permissions(
        config.permission, cwd, allow=frozenset(allow), sandbox=config.sandbox
    )
    verdict = permissions.explain_bash(step.action)
    if verdict.action != "allow":
        what = "denied" if verdict.action == "deny" else "needs permission"
        return StepOutcome(
            False,
            error=f"shell step {step.name!r}: {step.action!r} {what} ({verdict.reason}); "
            + (
                "a deny rule wins over everything"
                if verdict.action == "deny"
                else 'add "bash" to allow = [...] in the workflow file, or allow the command '
                "with a [permission.bash] rule"
            ),
        )

    async def no_undo(path: Path, before: bytes | None) -> None:
        return None

    ctx = ToolContext(
        cwd=cwd, session_id=f"workflow:{step.name}", call_id=step.name, record_change=no_undo
    )
    # The permission was judged on the action; the environment it needs (a handler's
    # OPENCODE_FAILURE) is set by a prefix of literal single-quoted assignments, which
    # bash never expands.
    command = "".join(f"export {name}={shlex.quote(value)}\n" for name, value in step.env)
    result = await BashTool(config.sandbox).run(
        {"command": command + step.action, "timeout": step.timeout}, ctx
    )
    exit_code = result.metadata.get("exit_code")
    ok = not result.is_error and exit_code == 0
    return StepOutcome(
        ok,
        output=result.output,
        error="" if ok else f"exit code {exit_code}: {_tail(result.output)}",
    )


async def run_agent(
    step: StepSpec,
    *,
    config: Config,
    cwd: Path,
    store: Store,
    allow: tuple[str, ...],
    workflow: str,
    provider_factory: ProviderFactory | None = None,
) -> StepOutcome:
    from opencode.sessions.engine import Engine
    from opencode.sessions.permissions_api import PermissionAnswer, PermissionRequest
    from opencode.sessions.tools.registry import builtin_tools

    system = step.system
    wanted_tools = step.tools
    model = step.model
    max_steps = step.max_steps
    if step.agent:
        known = profiles(config, cwd)
        profile = known.get(step.agent)
        if profile is None:
            return StepOutcome(
                False,
                error=f"agent step {step.name!r}: unknown agent profile {step.agent!r}; known: "
                f'{", ".join(sorted(known))} (or write system = "...")',
            )
        system = system or profile.prompt or None
        wanted_tools = wanted_tools if wanted_tools is not None else profile.tools
        model = model or profile.model
        max_steps = max_steps or profile.max_steps
    step_config = dataclasses.replace(config, system_prompt=system) if system else config
    tools = None
    if wanted_tools is not None:
        available = builtin_tools()
        unknown = [t for t in wanted_tools if t not in available]
        if unknown:
            return StepOutcome(
                False,
                error=f"agent step {step.name!r}: unknown tool(s) {', '.join(unknown)}; "
                f"tools: {', '.join(sorted(available))}",
            )
        tools = {name: available[name] for name in wanted_tools}

    async def deny(request: PermissionRequest) -> PermissionAnswer:
        return "deny"  # headless: what would ask is refused (the model is told so)

    engine = Engine(step_config, cwd, provider_factory=provider_factory, tools=tools, allow=allow)
    engine.model = model
    await engine.open(deny, store=store)
    try:
        session = await engine.start(title=f"workflow {workflow}: {step.name}")
        finished = await engine.send(step.action, max_steps=max_steps)
        messages = await engine.messages(session.id)
    finally:
        await engine.close()
    text = ""
    for message in reversed(messages):
        if message.role == "assistant":
            text = "".join(p.content for p in message.parts if p.kind == "text")
            if text:
                break
    ok = finished.error is None and finished.finish not in ("error", "interrupted")
    error = "" if ok else f"agent turn ended with {finished.finish}: {finished.error or ''}".strip()
    return StepOutcome(ok, output=text, error=error, session_id=session.id)


def _tail(text: str, limit: int = 400) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]
