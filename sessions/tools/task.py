"""The ``task`` tool: hand a sub-task to a fresh agent (a child session) and read its answer.

The model gives a short ``description`` (the child's title), the ``prompt`` (everything the
child needs: it sees nothing of the parent's conversation) and optionally an ``agent`` profile.
Several ``task`` calls of one step run in parallel (``ToolCalls.run_step``). A child that fails,
hangs or overspends comes back as an error result; the parent goes on.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from opencode.sessions.tools.base import PermissionSubject, ToolContext, ToolResult

if TYPE_CHECKING:
    from opencode.sessions.subagents import Subagents

DESCRIPTION = (
    "Hand a self-contained sub-task to a fresh agent with its own context and wait for its "
    "final answer. Use it for independent work (reviewing one module, running the tests, "
    "researching a question) that would clutter this conversation; call it several times in "
    "one step to run sub-tasks in parallel. The agent sees nothing of this conversation: put "
    "everything it needs in `prompt`. Optional `agent` picks a profile (e.g. review, test, "
    "docs) with its own instructions and tools."
)


class TaskTool:
    name = "task"
    description = DESCRIPTION
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "description": {
                "type": "string",
                "description": "A short (3-8 words) title for the sub-task",
            },
            "prompt": {
                "type": "string",
                "description": "The whole task for the agent, with every detail it needs",
            },
            "agent": {
                "type": "string",
                "description": "Optional agent profile name (see `opencode agent list`)",
            },
        },
        "required": ["description", "prompt"],
    }

    def __init__(self, subagents: Subagents | None = None) -> None:
        self.subagents = subagents

    def permission_subject(self, args: dict[str, Any], cwd: Path) -> PermissionSubject:
        agent = args.get("agent") or "general"
        return PermissionSubject(f"{agent}: {args.get('description', '')}")

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        from opencode.sessions.config import ConfigError
        from opencode.sessions.subagents import result_text

        if self.subagents is None:
            return ToolResult("task: subagents are not available in this session", True)
        prompt = str(args.get("prompt", "")).strip()
        if not prompt:
            return ToolResult("task: `prompt` is empty; say what the agent should do", True)
        try:
            limit = self.subagents.limits.max_result_chars
            outcome = await self.subagents.run(
                parent_session_id=ctx.session_id,
                parent_call_id=ctx.call_id,
                description=str(args.get("description", "")).strip()[:80] or "subagent",
                prompt=prompt,
                agent=args.get("agent") or None,
            )
        except ConfigError as exc:
            return ToolResult(f"task: agent configuration is invalid: {exc}", True)
        if outcome.finish == "refused":
            return ToolResult(f"task refused: {outcome.error}", True, {"agent": outcome.agent})
        text, is_error = result_text(outcome, limit)
        return ToolResult(
            text,
            is_error,
            {
                "session_id": outcome.session_id,
                "agent": outcome.agent,
                "finish": outcome.finish,
                "steps": outcome.steps,
                "input_tokens": outcome.usage.input_tokens,
                "output_tokens": outcome.usage.output_tokens,
            },
        )
