"""Who may run which tool on what: the allow / ask / deny decision for one tool call.

Precedence, first that applies wins:

1. A config ``deny``. For bash, a deny pattern matching ANY part of the parsed command (see
   ``bashparse``: every simple command, substitution, wrapped or ``-c`` command, matched as
   written and by the executable's basename). Deny beats ``--yes``, ``--allow``, session
   grants and the sandbox default, as in Claude Code.
2. ``allow_all`` (``--yes``) or the tool named in ``allow`` (``--allow read,edit``): allow.
   For a bash command the checker cannot parse, or one running code it cannot see (a
   script file, stdin, ``source``, ``alias``... see ``bashparse``), while deny rules exist,
   ask instead: nobody can tell whether it runs a denied program. Interpreters
   (``python -c``) are not looked into: deny rules guard against slips, the sandbox is the
   boundary.
3. A session grant (an "allow for this session" answer, or one restored from the store):
   allow. A grant is for one exact subject, or for every subject when it is ``*``.
4. Config. ``[permission.bash]`` glob patterns (``fnmatch``, case-sensitive, the LAST
   matching pattern wins, then ``[permission] bash``) are matched against each part of the
   command. An allow rule allows only when EVERY part is allowed, no part names a path
   outside the workspace (redirections, ``--output=../x``, ``~``, ``$VAR``) and every part
   could be parsed; otherwise the command is asked about. Other tools use
   ``[permission] TOOL = ...``, combined with the subject's default by taking the stricter
   (deny > ask > allow): a tool-wide ``read = "allow"`` does not silently open ``.env``
   files or paths outside the project, which that rule was never written about.
5. The subject's default: ``ask`` for paths outside the working directory and for reads of
   ``.env*`` files (see ``opencode.sessions.tools.files``).
MCP tools (``SERVER_tool``, subject an ``McpSubject``) have their own rules, see
``Permissions.explain_mcp``: ``[permission] mcp`` (all MCP tools), glob keys such as
``"github_*"`` (a server, or any set of tools) and exact tool names; any matching deny denies,
otherwise the most specific rule decides, and with no rule the answer is ``ask``.

6. The built-in default: ``allow`` for every tool but bash. For bash, ``allow`` when commands
   run in the OS sandbox (``sandbox``: the sandbox is the boundary), else ``ask``; headless
   runs deny an ask unless ``--yes``/``--allow bash``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from opencode.sessions.config import PermissionConfig, SandboxConfig
from opencode.sessions.tools.base import PermissionSubject

if TYPE_CHECKING:
    from opencode.sessions.tools.bashparse import Part

Action = Literal["allow", "ask", "deny"]
_STRICTNESS: dict[str, int] = {"allow": 0, "ask": 1, "deny": 2}
BUILTIN_DEFAULT: Action = "allow"
ANY_SUBJECT = "*"
MCP_KEY = "mcp"  # [permission] mcp = ...: every MCP tool
MCP_DEFAULT: Action = "ask"


@dataclass(slots=True)
class McpSubject(PermissionSubject):
    """The subject of an MCP tool call: ``server``/``tool`` as the server names them."""

    server: str = ""
    tool: str = ""


@dataclass(slots=True)
class PartDecision:
    """One parsed part of a bash command and what the rules say about it."""

    text: str
    action: Action | None  # None: no rule matched, the default applies
    reason: str


@dataclass(slots=True)
class BashVerdict:
    action: Action
    reason: str
    parts: list[PartDecision] = field(default_factory=list)


class Permissions:
    def __init__(
        self,
        config: PermissionConfig,
        cwd: Path,
        allow: Iterable[str] = (),
        allow_all: bool = False,
        sandbox: SandboxConfig | None = None,
    ) -> None:
        self.config = config
        self.cwd = cwd
        self.allow = set(allow)
        self.allow_all = allow_all
        self._sandbox = sandbox
        self._grants: set[tuple[str, str]] = set()

    @property
    def sandbox(self) -> SandboxConfig:
        """The [sandbox] settings bash runs under: given, else those of the loaded config."""
        if self._sandbox is not None:
            return self._sandbox
        from opencode.sessions.config import active_sandbox

        return active_sandbox()

    def sandbox_description(self) -> str:
        """Which mode bash runs in here, as a line the TUI can show."""
        from opencode.sessions.tools.sandbox import describe

        return describe(self.sandbox, self.cwd)

    def decide(self, tool_name: str, subject: PermissionSubject) -> Action:
        return self.explain(tool_name, subject)[0]

    def explain(self, tool_name: str, subject: PermissionSubject) -> tuple[Action, str]:
        """The decision and a short reason naming the rule that made it (for the UI/log)."""
        if tool_name == "bash":
            verdict = self.explain_bash(subject.subject)
            return verdict.action, verdict.reason
        if isinstance(subject, McpSubject):
            return self.explain_mcp(tool_name, subject)
        if _action(self.config.tools.get(tool_name)) == "deny":
            return "deny", f"[permission] {tool_name}"
        if self.allow_all:
            return "allow", "--yes"
        if tool_name in self.allow or "*" in self.allow:
            return "allow", f"--allow {tool_name}"
        if (tool_name, subject.subject) in self._grants or (
            tool_name,
            ANY_SUBJECT,
        ) in self._grants:
            return "allow", "allowed for this session"
        configured = self._configured(tool_name, subject.subject)
        default = _action(subject.default)
        if configured is not None:
            action, rule = configured
            if default is not None and _STRICTNESS[default] > _STRICTNESS[action]:
                return default, _default_reason(subject)
            return action, rule
        if default is not None:
            return default, _default_reason(subject)
        return BUILTIN_DEFAULT, "built-in default"

    def explain_mcp(self, tool_name: str, subject: McpSubject) -> tuple[Action, str]:
        """An MCP tool (``SERVER_tool``). Rules that match: ``[permission] mcp``, glob keys
        (``"SERVER_*"``) matching the tool name, the exact tool name. A deny from any of them
        denies, beating --yes, --allow and session grants; then --yes, --allow (the tool's
        name, ``mcp`` or ``*``), grants; then the most specific rule (exact name, then the
        longest pattern, then ``mcp``); with none, ask."""
        matching: list[tuple[int, Action, str]] = []
        for key, value in self.config.tools.items():
            action = _action(value)
            if action is None:
                continue
            if key == tool_name:
                matching.append((1 << 20, action, f"[permission] {key}"))
            elif key == MCP_KEY:
                matching.append((0, action, f"[permission] {key}"))
            elif any(c in key for c in "*?[") and fnmatchcase(tool_name, key):
                matching.append((len(key), action, f"[permission] {key!r}"))
        denied = [m for m in matching if m[1] == "deny"]
        if denied:
            return "deny", max(denied)[2]
        if self.allow_all:
            return "allow", "--yes"
        for name in (tool_name, MCP_KEY, "*"):
            if name in self.allow:
                return "allow", f"--allow {name}"
        if (tool_name, subject.subject) in self._grants or (tool_name, ANY_SUBJECT) in self._grants:
            return "allow", "allowed for this session"
        if matching:
            _, action, rule = max(matching, key=lambda m: m[0])
            return action, rule
        return MCP_DEFAULT, "default for MCP tools ([permission] mcp)"

    def explain_bash(self, command: str) -> BashVerdict:
        """The decision for a bash command, with each parsed part's own decision."""
        from opencode.sessions.tools.bashparse import parse

        parsed = parse(command, self.cwd)
        parts = [self._part(part) for part in parsed.parts]
        denied = [p for p in parts if p.action == "deny"]
        if denied:
            return BashVerdict("deny", _joined(denied, len(parts)), parts)
        if ("bash", command.strip()) in self._grants:
            # This exact text was shown to the user and allowed: nothing blanket about it.
            return BashVerdict("allow", "allowed for this session", parts)
        granted = self._override()
        if granted is not None:
            unseen = parsed.problems + parsed.hidden
            if unseen and self._has_deny_rules():
                reason = (
                    f"{granted} does not cover a command that cannot be checked against "
                    f"deny rules: {unseen[0]}"
                )
                return BashVerdict("ask", reason, parts)
            return BashVerdict("allow", granted, parts)
        asked = [p for p in parts if p.action == "ask"]
        if asked:
            return BashVerdict("ask", _joined(asked, len(parts)), parts)
        if parts and all(p.action == "allow" for p in parts):
            return BashVerdict("allow", _joined(parts, len(parts)), parts)
        from opencode.sessions.tools.sandbox import sandbox_mode

        mode = sandbox_mode(self.sandbox, self.cwd)
        action: Action = "allow" if mode.sandboxed else "ask"
        return BashVerdict(action, f"default: {mode.describe()}", parts)

    def _override(self) -> str | None:
        """The blanket --yes / --allow / "every command" grant that allows bash, if any."""
        if self.allow_all:
            return "--yes"
        if "bash" in self.allow or "*" in self.allow:
            return "--allow bash"
        if ("bash", ANY_SUBJECT) in self._grants:
            return "allowed for this session"
        return None

    def _has_deny_rules(self) -> bool:
        return self.config.tools.get("bash") == "deny" or any(
            action == "deny" for _, action in self.config.bash
        )

    def _part(self, part: Part) -> PartDecision:
        for view in part.deny_views:
            found = self._bash_rule(view)
            if found is not None and found[0] == "deny":
                shown = "" if view == part.text else f" (runs {view!r})"
                return PartDecision(part.text, "deny", f"{found[1]}{shown}")
        if part.problem:
            return PartDecision(part.text, "ask", part.problem)
        if part.hidden and self._has_deny_rules():
            why = f"{part.hidden}; with deny rules it could run a denied program"
            return PartDecision(part.text, "ask", why)
        results = [self._bash_rule(view) for view in part.allow_views]
        for view, found in zip(part.allow_views, results, strict=True):
            if found is not None and found[0] == "ask":
                shown = "" if view == part.text else f" (runs {view!r})"
                return PartDecision(part.text, "ask", f"{found[1]}{shown}")
        if any(found is None for found in results):
            return PartDecision(part.text, None, "no rule")
        rule = str(results[0][1]) if results[0] else ""
        if part.outside:
            where = ", ".join(part.outside)
            return PartDecision(
                part.text, "ask", f"{rule} does not cover paths outside the workspace: {where}"
            )
        return PartDecision(part.text, "allow", rule)

    def _bash_rule(self, text: str) -> tuple[Action, str] | None:
        found: tuple[Action, str] | None = None
        for pattern, action in self.config.bash:
            if fnmatchcase(text, pattern):
                found = (cast(Action, action), f"[permission.bash] {pattern!r}")
        if found is None:
            tool_action = _action(self.config.tools.get("bash"))
            if tool_action is not None:
                found = (tool_action, "[permission] bash")
        return found

    def grant_session(self, tool: str, subject: PermissionSubject | str) -> None:
        """Remember an "allow for this session" answer for this tool and subject."""
        text = subject.subject if isinstance(subject, PermissionSubject) else subject
        self._grants.add((tool, text))

    def _configured(self, tool_name: str, subject: str) -> tuple[Action, str] | None:
        tool_action = _action(self.config.tools.get(tool_name))
        if tool_action is not None:
            return tool_action, f"[permission] {tool_name}"
        return None


def _action(value: str | None) -> Action | None:
    return cast(Action, value) if value in _STRICTNESS else None


def _default_reason(subject: PermissionSubject) -> str:
    return f"default for {subject.subject}"


def _joined(parts: list[PartDecision], total: int) -> str:
    """The reason of the deciding part(s); named by part when the command has several."""
    if total == 1:
        return parts[0].reason
    return "; ".join(f"{p.text!r}: {p.reason}" for p in parts)
