"""Who may run which tool on what: the allow / ask / deny decision for one tool call.

Precedence, first that applies wins:

1. ``allow_all`` (``--yes``) or the tool named in ``allow`` (``--allow read,edit``): allow.
2. A session grant (an "allow for this session" answer, or one restored from the store):
   allow. A grant is for one exact subject, or for every subject when it is ``*``.
3. Config. ``[permission.bash]`` glob patterns are matched against the whole command with
   ``fnmatch`` (case-sensitive) and the LAST matching pattern wins; if none matches,
   ``[permission] bash = ...`` applies. Other tools use ``[permission] TOOL = ...``.
   A config answer is combined with the subject's default by taking the stricter of the two
   (deny > ask > allow): a config ``deny`` beats the default ``ask``, but a tool-wide
   ``read = "allow"`` does not silently open ``.env`` files or paths outside the project,
   which that rule was never written about. ``--allow``/``--yes``/session grants still do.
4. The subject's default: ``ask`` for paths outside the working directory and for reads of
   ``.env*`` files (see ``opencode.sessions.tools.files``).
5. The built-in default: ``allow`` for every tool, write/edit/bash included, as opencode does;
   tighten it in ``opencode.toml`` (e.g. ``[permission] edit = "ask"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Literal, cast

from opencode.sessions.config import PermissionConfig
from opencode.sessions.tools.base import PermissionSubject

Action = Literal["allow", "ask", "deny"]
_STRICTNESS: dict[str, int] = {"allow": 0, "ask": 1, "deny": 2}
BUILTIN_DEFAULT: Action = "allow"
ANY_SUBJECT = "*"
# Shell syntax that runs more than the command a pattern names.
_CHAINED = re.compile(r";|&&|\|\||\||`|\$\(|\n|&\s*\S")


class Permissions:
    def __init__(
        self,
        config: PermissionConfig,
        cwd: Path,
        allow: Iterable[str] = (),
        allow_all: bool = False,
    ) -> None:
        self.config = config
        self.cwd = cwd
        self.allow = set(allow)
        self.allow_all = allow_all
        self._grants: set[tuple[str, str]] = set()

    def decide(self, tool_name: str, subject: PermissionSubject) -> Action:
        return self.explain(tool_name, subject)[0]

    def explain(self, tool_name: str, subject: PermissionSubject) -> tuple[Action, str]:
        """The decision and a short reason naming the rule that made it (for the UI/log)."""
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

    def grant_session(self, tool: str, subject: PermissionSubject | str) -> None:
        """Remember an "allow for this session" answer for this tool and subject."""
        text = subject.subject if isinstance(subject, PermissionSubject) else subject
        self._grants.add((tool, text))

    def _configured(self, tool_name: str, subject: str) -> tuple[Action, str] | None:
        if tool_name == "bash":
            command = subject.strip()
            found: tuple[Action, str] | None = None
            for pattern, action in self.config.bash:
                if fnmatchcase(command, pattern):
                    found = (cast(Action, action), f"[permission.bash] {pattern!r}")
            if found is not None and found[0] == "allow" and _CHAINED.search(command):
                # "git status*" = "allow" must not also allow "git status; rm -rf ~": a
                # command that chains or substitutes others is asked about, unless the
                # matching rule is the catch-all "*".
                if found[1] != "[permission.bash] '*'":
                    return "ask", f"{found[1]} (chained command: asked)"
            if found is not None:
                return found
        tool_action = _action(self.config.tools.get(tool_name))
        if tool_action is not None:
            return tool_action, f"[permission] {tool_name}"
        return None


def _action(value: str | None) -> Action | None:
    return cast(Action, value) if value in _STRICTNESS else None


def _default_reason(subject: PermissionSubject) -> str:
    return f"default for {subject.subject}"
