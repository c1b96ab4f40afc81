"""The ``[sync]`` section of opencode.toml, read once into a typed ``SyncSettings``.

Defaults follow the synchronization plan (seed 002): change categories with their glob
patterns and priorities, docs/plans/RAG copied into ``<target>/opencode/``, and the config
merge strategy (keep ``default_model``/``data_dir``/``log_level``; merge providers and tools).

```toml
[sync]
source = "../opencode_4py"      # default: the current directory
dest = "opencode"               # inside each target
cli = "opencode"                # console script checked with --help (default: the source's first)
preflight = "check_prerequisites.py"
keep_backups = 10               # backups per target `target prune` keeps (default 10)
[sync.categories]
provider = ["src/opencode/provider/*.py"]           # patterns only, default priority kept
docs = { patterns = ["docs/**/*.md"], priority = "low" }
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opencode.commands.registry import CommandError

PRIORITIES = ("critical", "high", "medium", "low")

# Seed's CHANGE_PATTERNS, with plans split out of docs (the plan ranks them differently) and
# this project's own layout beside opencode_4py's.
DEFAULT_CATEGORIES: dict[str, tuple[list[str], str]] = {
    "provider": (["src/opencode/provider/*.py", "sessions/providers/**/*.py"], "high"),
    "tools": (["src/opencode/tool/*.py", "sessions/tools/**/*.py"], "high"),
    "session": (
        ["src/opencode/core/session.py", "sessions/runner.py", "sessions/store/**"],
        "high",
    ),
    "config": (["src/opencode/core/config.py", "opencode.toml", "sessions/config.py"], "medium"),
    "cli": (["src/opencode/cli/**/*.py", "commands/**/*.py"], "medium"),
    "docs": (["docs/**/*.md", "README.md", "MISSION.md"], "medium"),
    "rag": (["RAG/**/*.md"], "high"),
    "plans": (["plans/**/*.md"], "high"),
}

# Config keys whose target value always wins, and tables merged key by key (new entries added).
KEEP_KEYS = ("default_model", "model", "data_dir", "log_level")
MERGE_TABLES = ("providers", "provider", "tools", "permission")

# Component -> folder in the source; copied to <target>/<dest>/<folder>.
DOC_COMPONENTS = {"docs": "docs", "plans": "plans", "rag": "RAG"}
EXTRA_DOCS = ("README.md", "MISSION.md")


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    patterns: tuple[str, ...]
    priority: str


@dataclass(slots=True)
class SyncSettings:
    source: Path
    dest: str = "opencode"
    cli: str | None = None
    preflight: tuple[str, ...] = ("check_prerequisites.py", "preflight.py")
    categories: list[Category] = field(default_factory=list)
    doc_components: dict[str, str] = field(default_factory=lambda: dict(DOC_COMPONENTS))
    extra_docs: tuple[str, ...] = EXTRA_DOCS
    keep_keys: tuple[str, ...] = KEEP_KEYS
    merge_tables: tuple[str, ...] = MERGE_TABLES
    test_timeout: float = 600.0
    # backups per target that `target prune` keeps when --keep is not given
    keep_backups: int = 10


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CommandError(f"opencode.toml: key {key}: expected a list of strings, got {value!r}")
    return tuple(value)


def load_settings(raw: dict[str, Any], cwd: Path) -> SyncSettings:
    """``raw`` is ``Config.section("sync")``."""
    source_value = raw.get("source")
    if source_value is not None and not isinstance(source_value, str):
        raise CommandError(f"opencode.toml: key sync.source: expected a path, got {source_value!r}")
    source = Path(source_value).expanduser() if source_value else cwd
    if not source.is_absolute():
        source = cwd / source
    settings = SyncSettings(source=source.resolve())
    if isinstance(raw.get("dest"), str):
        settings.dest = raw["dest"]
    if isinstance(raw.get("cli"), str):
        settings.cli = raw["cli"]
    if "preflight" in raw:
        settings.preflight = _strings(raw["preflight"], "sync.preflight")
    if "keep" in raw:
        settings.keep_keys = _strings(raw["keep"], "sync.keep")
    if "merge" in raw:
        settings.merge_tables = _strings(raw["merge"], "sync.merge")
    timeout = raw.get("test_timeout")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
        settings.test_timeout = float(timeout)
    if "keep_backups" in raw:
        keep = raw["keep_backups"]
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise CommandError(
                f"opencode.toml: key sync.keep_backups: expected a whole number >= 0, got {keep!r}"
            )
        settings.keep_backups = keep
    components = raw.get("components", {})
    if isinstance(components, dict):
        for name, folder in components.items():
            if name in DOC_COMPONENTS and isinstance(folder, str):
                settings.doc_components[name] = folder

    merged = {name: (list(p), prio) for name, (p, prio) in DEFAULT_CATEGORIES.items()}
    overrides = raw.get("categories", {})
    if not isinstance(overrides, dict):
        raise CommandError("opencode.toml: key sync.categories: expected a table")
    priorities = raw.get("priorities", {})
    for name, value in overrides.items():
        key = f"sync.categories.{name}"
        patterns, priority = merged.get(name, ([], "medium"))
        if isinstance(value, dict):
            if "patterns" in value:
                patterns = list(_strings(value["patterns"], key + ".patterns"))
            priority = value.get("priority", priority)
        else:
            patterns = list(_strings(value, key))
        merged[name] = (patterns, priority)
    if isinstance(priorities, dict):
        for name, priority in priorities.items():
            if name in merged:
                merged[name] = (merged[name][0], priority)
    for name, (patterns, priority) in merged.items():
        if not isinstance(priority, str) or priority.lower() not in PRIORITIES:
            raise CommandError(
                f"opencode.toml: key sync.categories.{name}.priority: expected one of "
                f"{', '.join(PRIORITIES)}, got {priority!r}"
            )
        settings.categories.append(Category(name, tuple(patterns), priority.lower()))
    return settings
