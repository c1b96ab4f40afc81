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
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opencode.sessions.workflows.executor import StepOutcome

if TYPE_CHECKING:
    from opencode.sessions.config import Config
    from opencode.sessions.runner import ProviderFactory
    from opencode.sessions.store.db import Store
    from opencode.sessions.workflows.spec import StepSpec

# Used when opencode.sessions.agents (agent profiles) is not available.
BUILTIN_PROFILES: dict[str, str] = {
    "review": "You are a code reviewer. Read the changes and the code they touch; report bugs, "
    "risks and unclear code with file and line. Do not edit files.",
    "test": "You are a test engineer. Run the project's tests, read failures, and add or fix "
    "tests for the behaviour under review. Report what passed and what failed.",
    "docs": "You are a technical writer. Update the documentation (README, docs/, docstrings) "
    "so it matches the code as it now is. Keep it short and accurate.",
    "debug": "You are a debugging engineer. Find the cause of the failure described, with "
    "evidence from logs and code, and fix it with the smallest change.",
    "code": "You are a software engineer. Make the change asked for, in the project's style, "
    "and keep the tests passing.",
}


def profile_prompt(name: str) -> str | None:
    """The system prompt of agent profile ``name``: ``opencode.sessions.agents`` first (its
    ``get_profile(name)`` / ``PROFILES[name]``, with a ``system_prompt`` or ``prompt``), else the
    built-in set; None if neither knows it."""
    try:
        agents: Any = importlib.import_module("opencode.sessions.agents")
    except ImportError:
        agents = None
    if agents is not None:
        profile: Any = None
        getter = getattr(agents, "get_profile", None) or getattr(agents, "get", None)
        if callable(getter):
            try:
                profile = getter(name)
            except (KeyError, LookupError, ValueError):
                profile = None
        if profile is None:
            table = getattr(agents, "PROFILES", None)
            if isinstance(table, dict):
                profile = table.get(name)
        if isinstance(profile, str):
            return profile
        for attr in ("system_prompt", "prompt", "system"):
            text = getattr(profile, attr, None)
            if isinstance(text, str) and text:
                return text
    return BUILTIN_PROFILES.get(name)


async def run_shell(
    step: StepSpec, *, config: Config, cwd: Path, allow: tuple[str, ...]
) -> StepOutcome:
    from opencode.sessions.tools.base import ToolContext
    from opencode.sessions.tools.permissions import Permissions
    from opencode.sessions.tools.shell import BashTool

    permissions = Permissions(config.permission, cwd, allow=frozenset(allow))
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
    result = await BashTool(config.sandbox).run(
        {"command": step.action, "timeout": step.timeout}, ctx
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
    if system is None and step.agent:
        system = profile_prompt(step.agent)
        if system is None:
            return StepOutcome(
                False,
                error=f"agent step {step.name!r}: unknown agent profile {step.agent!r}; known: "
                f'{", ".join(sorted(BUILTIN_PROFILES))} (or write system = "...")',
            )
    step_config = dataclasses.replace(config, system_prompt=system) if system else config
    tools = None
    if step.tools is not None:
        available = builtin_tools()
        unknown = [t for t in step.tools if t not in available]
        if unknown:
            return StepOutcome(
                False,
                error=f"agent step {step.name!r}: unknown tool(s) {', '.join(unknown)}; "
                f"tools: {', '.join(sorted(available))}",
            )
        tools = {name: available[name] for name in step.tools}

    async def deny(request: PermissionRequest) -> PermissionAnswer:
        return "deny"  # headless: what would ask is refused (the model is told so)

    engine = Engine(step_config, cwd, provider_factory=provider_factory, tools=tools, allow=allow)
    engine.model = step.model
    await engine.open(deny, store=store)
    try:
        session = await engine.start(title=f"workflow {workflow}: {step.name}")
        finished = await engine.send(step.action, max_steps=step.max_steps)
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
