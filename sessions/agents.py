"""Agent profiles and subagent limits: who a ``task`` child is, and how far the tree may go.

A profile names a prompt, a tool subset, optionally another model, permission overrides and a
step budget. Profiles come from, later winning over earlier:

1. the built-ins ``review`` (read/grep/glob/list), ``test`` (+ bash), ``docs`` (+ write/edit);
2. Markdown files ``~/.config/opencode/agents/*.md`` then ``./.opencode/agents/*.md``: YAML
   frontmatter with the same keys, the body is the prompt (Claude Code's
   ``.claude/agents/*.md`` has this shape; ``tools`` may be a list or ``"read, grep"``);
3. ``[agent.NAME]`` tables in opencode.toml.

``[agents]`` holds the limits (``enabled``, ``max_parallel``, ``max_depth``, ``timeout``,
``max_tokens``, ``max_result_chars``). Bad values are ``ConfigError``s naming the file and key.
No I/O beyond reading those files.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opencode.sessions.config import Config, ConfigError

PROFILE_KEYS = ("description", "prompt", "tools", "model", "permissions", "max_steps")
LIMIT_KEYS = (
    "enabled",
    "max_parallel",
    "max_depth",
    "timeout",
    "max_tokens",
    "max_result_chars",
)
_ACTIONS = ("allow", "ask", "deny")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_READ_ONLY = ("read", "grep", "glob", "list")


@dataclass(frozen=True, slots=True)
class AgentProfile:
    name: str
    description: str = ""
    prompt: str = ""
    tools: tuple[str, ...] | None = None  # None: every tool the parent was offered
    model: str | None = None  # None: the parent's model
    permissions: dict[str, str] = field(default_factory=dict)  # tool -> allow|ask|deny
    max_steps: int | None = None
    source: str = "built-in"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "prompt": self.prompt,
            "tools": list(self.tools) if self.tools is not None else None,
            "model": self.model,
            "permissions": dict(self.permissions),
            "max_steps": self.max_steps,
            "source": self.source,
        }


BUILTIN_PROFILES: dict[str, AgentProfile] = {
    "review": AgentProfile(
        "review",
        "Reviews code read-only and reports problems with file:line references",
        "Review the code the task names. Read and search only; change nothing. Report concrete "
        "problems (bugs, missing tests, unclear code) with file:line references, most "
        "serious first.",
        _READ_ONLY,
    ),
    "test": AgentProfile(
        "test",
        "Runs and reads the tests, reports what fails and why",
        "Run the tests the task names (or find the right ones), read the failures and report "
        "what fails and the likely cause. Do not change files.",
        (*_READ_ONLY, "bash"),
    ),
    "docs": AgentProfile(
        "docs",
        "Writes or updates documentation",
        "Write or update the documentation the task names. Keep it short and accurate to the "
        "code; read the code before describing it.",
        (*_READ_ONLY, "write", "edit"),
    ),
}


@dataclass(frozen=True, slots=True)
class AgentLimits:
    enabled: bool = True
    max_parallel: int = 4  # task calls of one step running at once
    max_depth: int = 2  # a child at this depth gets a refusal from ``task``
    timeout: float = 600.0  # seconds one child may run before it is stopped
    max_tokens: int | None = None  # input + output tokens one child may use (None: no cap)
    max_result_chars: int = 16_000  # of the child's final text returned to the parent


def agent_limits(config: Config) -> AgentLimits:
    """``[agents]`` checked; a bad value is a ConfigError saying which key and what is wanted."""
    table = config.section("agents")
    where = _where(config)

    def positive(key: str, default: Any, *, zero_ok: bool = False, real: bool = False) -> Any:
        value: Any = table.get(key, default)
        if value is None:
            return None
        low = 0 if zero_ok else 1
        number = isinstance(value, int | float) if real else isinstance(value, int)
        too_small = number and (value <= 0 if real else value < low)
        if isinstance(value, bool) or not number or too_small:
            wanted = "a number of seconds > 0" if real else f"an integer >= {low}"
            raise ConfigError(f"{where}: key agents.{key}: expected {wanted}, got {value!r}")
        return value

    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}: key agents.enabled: expected true or false, got {enabled!r}")
    return AgentLimits(
        enabled=enabled,
        max_parallel=positive("max_parallel", 4),
        max_depth=positive("max_depth", 2, zero_ok=True),
        timeout=float(positive("timeout", 600.0, real=True)),
        max_tokens=positive("max_tokens", None),
        max_result_chars=positive("max_result_chars", 16_000),
    )


def load_profiles(config: Config, cwd: Path) -> dict[str, AgentProfile]:
    """Every profile by name: built-ins, then agent files, then ``[agent.NAME]`` tables."""
    profiles = dict(BUILTIN_PROFILES)
    from opencode.sessions.trust import ignore, of_config

    state = of_config(config.trust, cwd)
    for folder in agent_dirs(cwd):
        if folder.is_dir() and not state.trusted and folder == cwd / ".opencode" / "agents":
            # Project profiles may grant tools: only once the project is trusted.
            ignore(state, f"agent profiles in {folder}")
            continue
        if folder.is_dir():
            for path in sorted(folder.glob("*.md")):
                profile = profile_from_file(path)
                profiles[profile.name] = profile
    tables = config.raw.get("agent", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{_where(config)}: key agent: expected tables [agent.NAME]")
    for name, table in tables.items():
        where = f"{_where(config)}: [agent.{name}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: expected a table with keys {', '.join(PROFILE_KEYS)}")
        unknown = sorted(set(table) - set(PROFILE_KEYS))
        if unknown:
            raise ConfigError(
                f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(PROFILE_KEYS)}"
            )
        base = profiles.get(name)
        profiles[name] = _profile(name, table, where, base, source="config")
    return profiles


def agent_dirs(cwd: Path) -> list[Path]:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [Path(base) / "opencode" / "agents", cwd / ".opencode" / "agents"]


def profile_from_file(path: Path) -> AgentProfile:
    """A Markdown agent file: ``---`` YAML frontmatter ``---`` then the prompt."""
    import yaml  # type: ignore[import-untyped]

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read this agent file: {exc}") from None
    meta: Any = {}
    body = text
    if text.startswith("---"):
        end = re.search(r"^---\s*$", text[3:], re.MULTILINE)
        if end is None:
            raise ConfigError(f"{path}: the frontmatter opened by '---' on line 1 is never closed")
        try:
            meta = yaml.safe_load(text[3 : 3 + end.start()]) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: the frontmatter is not valid YAML: {exc}") from None
        body = text[3 + end.end() :]
    if not isinstance(meta, dict):
        raise ConfigError(f"{path}: the frontmatter must be a mapping of keys to values")
    name = str(meta.get("name") or path.stem)
    table = {k: v for k, v in meta.items() if k in PROFILE_KEYS}  # other keys (color) ignored
    if body.strip():
        table["prompt"] = body.strip()
    return _profile(name, table, str(path), BUILTIN_PROFILES.get(name), source=str(path))


def _profile(
    name: str, table: dict[str, Any], where: str, base: AgentProfile | None, *, source: str
) -> AgentProfile:
    if not _NAME.match(name):
        raise ConfigError(
            f"{where}: agent name {name!r} must be letters, digits, '-', '_' or '.' "
            "(at most 64, starting with a letter or digit)"
        )
    base = base or AgentProfile(name)

    def text(key: str, current: str | None) -> str | None:
        value = table.get(key, current)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: key {key}: expected a string, got {value!r}")
        return value

    tools: tuple[str, ...] | None = base.tools
    if "tools" in table:
        raw = table["tools"]
        if isinstance(raw, str):
            raw = [t for t in re.split(r"[,\s]+", raw) if t]
        if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
            raise ConfigError(
                f"{where}: key tools: expected a list of tool names, got {table['tools']!r}"
            )
        # Claude Code spells them Read, Grep, ...: the same tools here, lower-case.
        tools = tuple(dict.fromkeys(t.lower() for t in raw))
    permissions = dict(base.permissions)
    if "permissions" in table:
        raw_perm = table["permissions"]
        if not isinstance(raw_perm, dict):
            raise ConfigError(f"{where}: key permissions: expected a table of tool = action")
        for tool, action in raw_perm.items():
            if action not in _ACTIONS:
                raise ConfigError(
                    f"{where}: key permissions.{tool}: expected one of "
                    f"{', '.join(_ACTIONS)}, got {action!r}"
                )
            permissions[str(tool)] = str(action)
    max_steps = table.get("max_steps", base.max_steps)
    if max_steps is not None and (
        isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1
    ):
        raise ConfigError(f"{where}: key max_steps: expected a positive integer, got {max_steps!r}")
    model = text("model", base.model)
    if model is not None and "/" not in model:
        raise ConfigError(f"{where}: key model: expected PROVIDER/MODEL, got {model!r}")
    return AgentProfile(
        name=name,
        description=text("description", base.description) or "",
        prompt=text("prompt", base.prompt) or "",
        tools=tools,
        model=model,
        permissions=permissions,
        max_steps=max_steps,
        source=source,
    )


def _where(config: Config) -> str:
    return str(config.sources[-1]) if config.sources else "config"
