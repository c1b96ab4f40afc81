"""Workspace trust: whether a project's own files may run code or loosen permissions.

A freshly cloned repository must not run anything because ``opencode`` was started in it.
Until the user trusts the project (``opencode trust``), its files are read only where they make
things stricter: project hooks (``[[hooks.*]]``, ``.claude/settings*.json``), project MCP
servers (``[mcp.*]``, ``.mcp.json``), ``[agent.*]`` tables and ``.opencode/agents`` profiles,
``[provider.*]`` overrides (which could send a key elsewhere), ``allow`` permission rules and
sandbox loosening are ignored, and each ignored item is reported once.

The trust store is ``trusted.json`` in the user's data dir (``$OPENCODE_DATA_DIR`` or the
platform default; a ``data_dir`` key in config does not move it, so a project cannot point it
at a file of its own). It maps a project root's real path to a hash of the files that matter,
so editing any of them after trusting asks again. Global config is always trusted; its
``[trust] projects = [...]`` lists roots trusted without a hash (``DIR/**``: every folder below
DIR). ``opencode run --trust-project`` (or ``OPENCODE_TRUST_PROJECT=1``) trusts for one run.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STORE_NAME = "trusted.json"
ENV_TRUST = "OPENCODE_TRUST_PROJECT"
# Files (relative to the project root) whose content decides what a project may do.
TRUST_FILES = (
    "opencode.toml",
    ".mcp.json",
    ".claude/settings.json",
    ".claude/settings.local.json",
)
TRUST_DIRS = (".opencode/commands", ".opencode/agents", ".claude/commands")
# A file bigger than this is hashed by its first bytes plus its size: a hostile repository
# cannot make start-up read gigabytes.
_MAX_HASHED = 4 * 1024 * 1024
_MAX_DIR_FILES = 2000

_TRUST_THIS_RUN: list[bool] = [False]
_REPORTED: set[str] = set()
_DECISIONS: dict[Path, TrustState] = {}


@dataclass(slots=True)
class TrustState:
    """The decision for one project root, and what it cost while untrusted."""

    root: Path
    trusted: bool
    reason: str
    digest: str = ""
    has_files: bool = False
    # One line per project setting that was ignored because the project is untrusted.
    ignored: list[str] = field(default_factory=list)

    def pending(self) -> list[str]:
        """What trusting would turn on: the ignored settings, and the project's files read
        later (MCP servers, Claude hooks, agent profiles) that will be ignored when they are."""
        later = [".mcp.json", ".claude/settings.json", ".claude/settings.local.json"]
        found = [
            f"{name} (ignored while untrusted)" for name in later if _regular(self.root / name)
        ]
        if (self.root / ".opencode" / "agents").is_dir():
            found.append(".opencode/agents (ignored while untrusted)")
        return [*self.ignored, *(f for f in found if f.split(" ")[0] not in str(self.ignored))]

    def advice(self) -> str:
        return f"`opencode trust {self.root}` trusts it"


def trust_this_run() -> None:
    """``--trust-project``: trust the project of this process for this run only."""
    _TRUST_THIS_RUN[0] = True


def store_path() -> Path:
    env = os.environ.get("OPENCODE_DATA_DIR")
    if env:
        return Path(env).expanduser() / STORE_NAME
    from opencode.sessions.config import default_data_dir

    return default_data_dir() / STORE_NAME


def project_root(cwd: Path) -> Path:
    return Path(os.path.realpath(cwd))


def _regular(path: Path) -> bool:
    # Only regular files: a FIFO or /dev/zero behind a symlink must not hang start-up.
    try:
        return path.is_file()
    except OSError:
        return False


def _hash_file(digest: Any, path: Path, name: str) -> None:
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            data = handle.read(_MAX_HASHED)
    except OSError as exc:
        data, size = f"<unreadable: {exc.strerror}>".encode(), -1
    digest.update(f"{name}\0{size}\0".encode())
    digest.update(hashlib.sha256(data).digest())


def trust_files(root: Path) -> list[tuple[str, Path]]:
    """The files that matter, as (name relative to root, path), in a stable order."""
    found = [(name, root / name) for name in TRUST_FILES if _regular(root / name)]
    for folder in TRUST_DIRS:
        base = root / folder
        if not base.is_dir():
            continue
        files = sorted(p for p in base.rglob("*") if _regular(p))[:_MAX_DIR_FILES]
        found += [(str(p.relative_to(root)), p) for p in files]
    return found


def fingerprint(root: Path) -> tuple[str, bool]:
    """(sha256 over the files that matter, whether there are any)."""
    digest = hashlib.sha256()
    files = trust_files(root)
    for name, path in files:
        _hash_file(digest, path, name)
    return digest.hexdigest(), bool(files)


def read_store() -> dict[str, dict[str, Any]]:
    path = store_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        # Unreadable store: trust nothing (fail closed) and say where.
        _report(
            f"opencode: warning: {path}: cannot read the trust store ({exc}); "
            "every project is untrusted until it is fixed or removed"
        )
        return {}
    projects = data.get("projects") if isinstance(data, dict) else None
    return {k: v for k, v in (projects or {}).items() if isinstance(v, dict)}


def _write_store(projects: dict[str, dict[str, Any]]) -> Path:
    path = store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"version": 1, "projects": projects}, handle, indent=2, sort_keys=True)
    os.replace(tmp, path)
    return path


def trust(cwd: Path) -> TrustState:
    """Record the project at ``cwd`` as trusted with the current hash of its files."""
    root = project_root(cwd)
    digest, has_files = fingerprint(root)
    projects = read_store()
    projects[str(root)] = {
        "hash": digest,
        "trusted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _write_store(projects)
    _DECISIONS.pop(root, None)
    return TrustState(root, True, "trusted now", digest, has_files)


def revoke(path: Path) -> bool:
    """Forget ``path`` (as given or as its real path); False if it was not trusted."""
    projects = read_store()
    keys = {str(path), str(project_root(path))}
    removed = [k for k in keys if projects.pop(k, None) is not None]
    if removed:
        _write_store(projects)
    _DECISIONS.pop(project_root(path), None)
    return bool(removed)


def _listed(root: Path, patterns: list[str]) -> bool:
    for pattern in patterns:
        subtree = pattern.endswith("/**")
        base = project_root(Path(pattern[:-3] if subtree else pattern).expanduser())
        if root == base or (subtree and base in root.parents):
            return True
    return False


def decide(cwd: Path, global_projects: list[str] | None = None) -> TrustState:
    """Whether the project at ``cwd`` is trusted, and why. Cached per root for this process."""
    root = project_root(cwd)
    digest, has_files = fingerprint(root)
    state = _decide(root, digest, has_files, global_projects or [])
    _DECISIONS[root] = state
    return state


def _decide(root: Path, digest: str, has_files: bool, listed: list[str]) -> TrustState:
    def made(trusted: bool, reason: str) -> TrustState:
        return TrustState(root, trusted, reason, digest, has_files)

    if not has_files:
        return made(True, "no project settings")
    if _TRUST_THIS_RUN[0] or os.environ.get(ENV_TRUST) == "1":
        return made(True, "--trust-project")
    if root == project_root(Path.home()):
        return made(True, "home directory (its files are the user's own)")
    if _listed(root, listed):
        return made(True, "[trust] projects in global config")
    entry = read_store().get(str(root))
    if entry is None:
        return made(False, "not trusted")
    if entry.get("hash") != digest:
        return made(False, "its settings changed since it was trusted")
    return made(True, f"trusted on {entry.get('trusted_at', '?')}")


def state_for(cwd: Path) -> TrustState:
    """The decision config loading made for ``cwd``, or a fresh one (without the global
    ``[trust]`` list: callers that get here without loading config fail closed)."""
    root = project_root(cwd)
    return _DECISIONS.get(root) or decide(root)


def of_config(state: TrustState | None, cwd: Path) -> TrustState:
    """The decision a loaded config carries, else the one for ``cwd`` (fail closed)."""
    return state if state is not None else state_for(cwd)


def ignore(state: TrustState, what: str, *, report: bool = True) -> None:
    """Note (and report once on stderr) one project setting ignored while untrusted.
    ``report=False`` leaves the reporting to a caller that says several at once."""
    if what not in state.ignored:
        state.ignored.append(what)
    if report:
        _report(
            f"opencode: untrusted project {state.root} ({state.reason}): ignored {what}; "
            f"{state.advice()}"
        )


def _report_several(state: TrustState, items: list[str]) -> None:
    """One line naming everything one opencode.toml had to give up."""
    if not items:
        return
    _report(
        f"opencode: untrusted project {state.root} ({state.reason}): ignored "
        f"{'; '.join(items)}; {state.advice()}"
    )


def _report(line: str) -> None:
    if line not in _REPORTED:
        _REPORTED.add(line)
        print(line, file=sys.stderr, flush=True)


_STRICTNESS = {"allow": 0, "ask": 1, "deny": 2}
# Project tables that can run code, send keys elsewhere or grant tools: dropped while untrusted.
_DROPPED = {
    "hooks": "[hooks] (commands run on session events)",
    "mcp": "[mcp] servers (commands started as MCP servers)",
    "agent": "[agent.*] profiles (they may grant tools)",
    "provider": "[provider.*] overrides (they may send API keys to another URL)",
    "trust": "[trust] (only the global config may trust projects)",
    "data_dir": "data_dir",
    "audit": "[audit] (it would prune the provider-call audit in your database)",
}


def _reads_outside(value: Any) -> bool:
    if isinstance(value, str):
        return "{env:" in value or "{file:" in value
    if isinstance(value, list):
        return any(_reads_outside(v) for v in value)
    return False


def _drop_substitutions(node: dict[str, Any], keys: tuple[str, ...], state: TrustState) -> None:
    """``{env:VAR}`` / ``{file:path}`` would let a project copy a secret (``~/.ssh/id_rsa``,
    ``$AWS_SECRET_ACCESS_KEY``) into a prompt the model sees: not while untrusted."""
    for key in list(node):
        value = node[key]
        if isinstance(value, dict):
            _drop_substitutions(value, (*keys, str(key)), state)
        elif _reads_outside(value):
            del node[key]
            ignore(
                state, f"{'.'.join((*keys, str(key)))} (reads {{env:}} or {{file:}})", report=False
            )


def _stricter(new: Any, old: Any) -> bool:
    return _STRICTNESS.get(str(new), -1) > _STRICTNESS.get(str(old), -1)


def filter_project(data: dict[str, Any], merged: dict[str, Any], state: TrustState) -> None:
    """Remove, in place, what an untrusted project's opencode.toml may not set (before any
    ``{env:}``/``{file:}`` in it is substituted). ``merged`` holds the global layers. What was
    removed is reported in one line."""
    before = len(state.ignored)
    _filter_project(data, merged, state)
    _report_several(state, state.ignored[before:])


def _filter_project(data: dict[str, Any], merged: dict[str, Any], state: TrustState) -> None:
    for key, what in _DROPPED.items():
        if key in data:
            del data[key]
            ignore(state, f"{what} in {state.root / 'opencode.toml'}", report=False)
    _drop_substitutions(data, (), state)
    permission = data.get("permission")
    if isinstance(permission, dict):
        _filter_permission(permission, merged.get("permission"), state)
    sandbox = data.get("sandbox")
    if isinstance(sandbox, dict):
        for key, safe in (("enabled", True), ("network", False), ("unix_sockets", False)):
            if key in sandbox and sandbox[key] is not safe:
                del sandbox[key]
                ignore(state, f"[sandbox] {key} = {str(not safe).lower()}", report=False)
        for key in ("network_commands", "writable"):
            if key in sandbox:
                del sandbox[key]
                ignore(state, f"[sandbox] {key}", report=False)


def _filter_permission(table: dict[str, Any], base: Any, state: TrustState) -> None:
    """Keep only rules stricter than what the global config says for the same key."""
    base = base if isinstance(base, dict) else {}
    for tool in list(table):
        value = table[tool]
        if isinstance(value, dict):
            if isinstance(base.get(tool), str):
                # Patterns would replace a tool-wide global action (a global deny) entirely.
                del table[tool]
                ignore(
                    state, f"[permission.{tool}] patterns over the global {tool} rule", report=False
                )
                continue
            old = base.get(tool) if isinstance(base.get(tool), dict) else {}
            for pattern in list(value):
                action = value[pattern]
                if action == "allow" or not _stricter(action, old.get(pattern)):
                    del value[pattern]
                    ignore(state, f"[permission.{tool}] {pattern!r} = {action!r}", report=False)
            if not value:
                del table[tool]
            continue
        old_action = base.get(tool)
        if isinstance(old_action, dict):
            # A tool-wide action replaces the global patterns: only a deny is never looser.
            keep = value == "deny"
        else:
            keep = value != "allow" and _stricter(value, old_action)
        if not keep:
            del table[tool]
            ignore(state, f"[permission] {tool} = {value!r}", report=False)
