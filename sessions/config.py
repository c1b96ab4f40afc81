"""``opencode.toml``: where it is found, how files overlay, substitution and validation.

Precedence: ``$OPENCODE_CONFIG`` alone if set; otherwise the global file
(``$XDG_CONFIG_HOME/opencode/opencode.toml`` or ``~/.config/opencode/opencode.toml``) overlaid by
``./opencode.toml``. Built-in provider definitions sit under both. ``$OPENCODE_DATA_DIR``
overrides ``data_dir``. String values may contain ``{env:VAR}`` (an error if VAR is unset),
``{env:VAR:-default}`` (``default`` when VAR is unset or empty) and ``{file:path}``.

Files are read with ``tomllib`` (nothing here writes them). Every problem raises
``ConfigError`` naming the file, the line and the key, and what was expected: bad syntax, a
key set twice, a bad value, an unset variable. The CLI turns it into exit code 2. A key that
nothing reads (a typo such as ``tiemout``) is not an error but a warning on stderr naming the
file, the key and the closest known key; ``KNOWN_KEYS`` lists what each table may hold.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from opencode.sessions.providers.base import ApiKind, ProviderConfig
from opencode.sessions.secrets import is_secret_name, remember_secret_env

if TYPE_CHECKING:
    from opencode.sessions.trust import TrustState

API_KINDS: tuple[ApiKind, ...] = ("openai", "anthropic", "ollama", "local")
ACTIONS = ("allow", "ask", "deny")
DEFAULT_MODEL = "local/smollm2"
DEFAULT_MAX_STEPS = 25
_SUBST = re.compile(r"\{(env|file):([^}]*)\}")

# Providers known without any config; a user's [provider.NAME] table overrides field by field.
BUILTIN_PROVIDERS: dict[str, dict[str, Any]] = {
    "openai": {
        "api": "openai",
        "base_url": "https://api.openai.com/v1",
        "api_key": "{env:OPENAI_API_KEY:-}",
    },
    "openrouter": {
        "api": "openai",
        "base_url": "https://openrouter.ai/api/v1",
        "api_key": "{env:OPENROUTER_API_KEY:-}",
    },
    "anthropic": {
        "api": "anthropic",
        "base_url": "https://api.anthropic.com/v1",
        "api_key": "{env:ANTHROPIC_API_KEY:-}",
    },
    "ollama": {"api": "ollama", "base_url": "http://127.0.0.1:11434"},
    "lmstudio": {"api": "openai", "base_url": "http://127.0.0.1:1234/v1"},
    "llamacpp": {"api": "openai", "base_url": "http://127.0.0.1:8080/v1"},
    "vllm": {"api": "openai", "base_url": "http://127.0.0.1:8000/v1"},
    "local": {"api": "local", "base_url": "", "models": ["smollm2"]},
}


# Environment variables that config used for API keys or auth headers: tools that start
# processes (bash) leave them out of the child's environment.
_SECRET_ENV: set[str] = set()


def _is_secret_key(keys: tuple[str, ...]) -> bool:
    return bool(keys) and (keys[-1] == "api_key" or "headers" in keys or _is_mcp_env(keys))


def _is_mcp_env(keys: tuple[str, ...]) -> bool:
    """``[mcp.NAME.env]`` values are handed to a server as its credentials."""
    return keys[:1] == ("mcp",) and ("env" in keys or "environment" in keys)


def secret_env_names() -> frozenset[str]:
    """Names of environment variables holding provider secrets: those config substituted into
    an ``api_key`` or a header, and any ``*_API_KEY``."""
    return frozenset(_SECRET_ENV | {k for k in os.environ if k.upper().endswith("_API_KEY")})


class ConfigError(Exception):
    """Invalid configuration. The message says where and what was expected."""


@dataclass(frozen=True, slots=True)
class PermissionConfig:
    """Per-tool actions, and bash command patterns (glob, last match wins)."""

    tools: dict[str, str] = field(default_factory=dict)
    bash: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """``[sandbox]``: whether bash runs in an OS sandbox, and whether it may use the network.

    ``network_commands`` are bash patterns (as in ``[permission.bash]``) for commands that get
    the network even when ``network`` is off; every part of the command must match one.
    """

    enabled: bool = True
    network: bool = False
    network_commands: tuple[str, ...] = ()
    # Extra directories writable inside (caches a build tool needs: ~/.cache/pip, ~/.npm).
    writable: tuple[Path, ...] = ()
    # Not from TOML: the config files and data dir that were loaded, kept read-only inside
    # the sandbox even when they lie in the workspace.
    protect: tuple[Path, ...] = ()
    # Not filtered: sandboxed commands may connect to the host's Unix sockets (a way out).
    # Last, so that positional constructions from before it keep their meaning.
    unix_sockets: bool = False


def active_sandbox() -> SandboxConfig:
    """The default ``[sandbox]`` settings, for a bash tool or ``Permissions`` built without
    one. ``load_config`` has no process-wide side effect: an engine snapshots
    ``config.sandbox`` when it starts and hands it to both explicitly, so a config file the
    model rewrites mid-session (then re-read by some tool) cannot widen its own sandbox."""
    return SandboxConfig()


@dataclass(slots=True)
class Config:
    model: str
    data_dir: Path
    providers: dict[str, ProviderConfig]
    permission: PermissionConfig
    max_steps: int = DEFAULT_MAX_STEPS
    system_prompt: str | None = None
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    sources: list[Path] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    # Dotted key -> "file:line" of the file that set it last (`opencode config explain`).
    key_origins: dict[str, str] = field(default_factory=dict)
    # Workspace trust of the project at cwd (sessions/trust.py); None only for hand-built
    # configs, which have no project layer.
    trust: TrustState | None = None

    @property
    def db_path(self) -> Path:
        return self.data_dir / "opencode.db"

    def section(self, name: str) -> dict[str, Any]:
        """A top-level table (``[sync]``, ``[backlog]``, ...) as plain data; {} if absent."""
        value = self.raw.get(name, {})
        return value if isinstance(value, dict) else {}

    def literal_secrets(self) -> tuple[str, ...]:
        """API keys and secret header values as configured (including ones written literally
        into opencode.toml, which no environment scrub would find)."""
        found = []
        for provider in self.providers.values():
            if provider.api_key:
                found.append(provider.api_key)
            found += [v for k, v in provider.headers.items() if is_secret_name(k)]
        return tuple(found)

    def resolve_model(self, ref: str | None = None) -> tuple[ProviderConfig, str]:
        """``provider/model`` -> (provider config, model name)."""
        ref = ref or self.model
        name, sep, model = ref.partition("/")
        if not sep or not model:
            raise ConfigError(
                f"model {ref!r} must be written PROVIDER/MODEL (e.g. openai/gpt-4o-mini); "
                f"configured providers: {', '.join(sorted(self.providers))}"
            )
        provider = self.providers.get(name)
        if provider is None:
            raise ConfigError(
                f"unknown provider {name!r} in model {ref!r}; configured providers: "
                f"{', '.join(sorted(self.providers))}. "
                f"Add a [provider.{name}] table to opencode.toml"
            )
        return provider, model


def global_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "opencode" / "opencode.toml"


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("opencode", appauthor=False))


def config_paths(cwd: Path) -> list[Path]:
    explicit = os.environ.get("OPENCODE_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"$OPENCODE_CONFIG points to {path}, which is not a file")
        return [path]
    return [p for p in (global_config_path(), cwd / "opencode.toml") if p.is_file()]


def _stderr_warning(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def load_config(cwd: Path | None = None, *, warn: Callable[[str], None] | None = None) -> Config:
    """Read, overlay, substitute and check the config files. ``warn`` gets one line per key
    nothing reads (default: stderr)."""
    cwd = (cwd or Path.cwd()).resolve()
    from opencode.sessions import trust

    merged: dict[str, Any] = {}
    origins: dict[str, _Origin] = {}
    paths = config_paths(cwd)
    project_file = cwd / "opencode.toml"
    state: trust.TrustState | None = None
    for path in paths:
        text, data = _read(path)
        origin = _Origin(path, text)
        explicit = bool(os.environ.get("OPENCODE_CONFIG"))  # the user's own choice of file
        if (
            path == project_file
            and not explicit
            and path.resolve() != global_config_path().resolve()
        ):
            # The project layer: decided after the global ones, whose [trust] list counts.
            state = trust.decide(cwd, _trusted_projects(merged))
            if not state.trusted:
                trust.filter_project(data, merged, state)
        _substitute(data, origin, ())
        _merge(merged, data, origins, origin, ())
    if state is None:  # no project opencode.toml: .mcp.json / .claude files still count
        state = trust.decide(cwd, _trusted_projects(merged))
    config = _build(merged, origins, paths, cwd)
    config.trust = state
    config.key_origins = {k: o.where(tuple(k.split("."))) for k, o in origins.items()}
    for line in unknown_key_warnings(merged, origins):
        (warn or _stderr_warning)(line)
    return config


def _trusted_projects(merged: dict[str, Any]) -> list[str]:
    """``[trust] projects`` of the layers read so far (global ones only: a project's own
    ``[trust]`` is dropped before it is merged)."""
    table = merged.get("trust")
    projects = table.get("projects", []) if isinstance(table, dict) else []
    if not isinstance(projects, list) or not all(isinstance(p, str) for p in projects):
        raise ConfigError("[trust] projects: expected a list of directory paths")
    return list(projects)


@dataclass(frozen=True, slots=True)
class _Origin:
    path: Path
    data_text: str

    def where(self, keys: tuple[str, ...]) -> str:
        return f"{self.path}:{_find_line(self.data_text, keys)}"


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _decode_error(path, text, exc) from exc


_AT = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)$")
_DUPLICATE = ("Cannot overwrite", "Cannot declare", "Cannot redefine", "Cannot mutate")


def _decode_error(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> ConfigError:
    """tomllib's message, with the file and line in front; for a key or table set twice, the
    key's dotted name and where it was first set (tomllib names neither)."""
    message = str(exc)
    match = _AT.search(message)
    lines = text.splitlines()
    if match and match.group(1):
        line, col = int(match.group(1)), int(match.group(2))
    else:  # "at end of document": the last line with anything on it
        line = max((i + 1 for i, t in enumerate(lines) if t.strip()), default=1)
        col = len(lines[line - 1]) + 1 if lines else 1
    reason = message[: match.start()] if match else message
    if reason.startswith(_DUPLICATE) and 0 < line <= len(lines):
        keys = _statement_keys(lines, line - 1)
        if keys:
            first = _first_definition(lines, line - 1, keys)
            earlier = f" (first set at line {first})" if first else ""
            return ConfigError(
                f"{path}:{line}: duplicate key {'.'.join(keys)}{earlier}; "
                "TOML allows each key once: keep one of them"
            )
    return ConfigError(f"{path}:{line}:{col}: invalid TOML: {reason}. Fix the syntax at that line")


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(r"^\s*([^=#\[][^=]*?)\s*=")


def _split_dotted(name: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in name.split("."))


def _table_at(lines: list[str], index: int) -> tuple[str, ...]:
    """The table whose body holds line ``index`` (0-based): the nearest header above it."""
    for i in range(index, -1, -1):
        header = _HEADER.match(lines[i])
        if header:
            return _split_dotted(header.group(1))
    return ()


def _statement_keys(lines: list[str], index: int) -> tuple[str, ...]:
    header = _HEADER.match(lines[index])
    if header:
        return _split_dotted(header.group(1))
    assign = _ASSIGN.match(lines[index])
    if assign:
        return (*_table_at(lines, index - 1), *_split_dotted(assign.group(1)))
    return ()


def _first_definition(lines: list[str], index: int, keys: tuple[str, ...]) -> int | None:
    for i in range(index):
        if _statement_keys(lines, i) == keys:
            return i + 1
    return None


def _find_line(text: str, keys: tuple[str, ...]) -> int:
    """Best-effort line number of ``keys`` (table path + key) in a TOML source."""
    lines = text.splitlines()
    if not keys:
        return 1
    *tables, key = keys
    start = 0
    if tables:
        header = re.compile(
            r"^\s*\[\s*" + r"\s*\.\s*".join(re.escape(t) for t in tables) + r"\s*\]"
        )
        for i, line in enumerate(lines):
            if header.match(line):
                start = i + 1
                break
    key_re = re.compile(r"^\s*(\"?)" + re.escape(key) + r"\1\s*=")
    dotted = re.compile(r"^\s*" + r"\s*\.\s*".join(re.escape(k) for k in keys) + r"\s*=")
    for i in range(start, len(lines)):
        if key_re.match(lines[i]) or dotted.match(lines[i]):
            return i + 1
        if i > start and lines[i].lstrip().startswith("[") and tables:
            break
    # A table given as a header (``[zzqqxx]``) rather than as ``key = ...``.
    own = re.compile(r"^\s*\[\[?\s*" + r"\s*\.\s*".join(re.escape(k) for k in keys) + r"\s*\]")
    for i, line in enumerate(lines):
        if own.match(line):
            return i + 1
    return start or 1


def _substitute(node: Any, origin: _Origin, keys: tuple[str, ...]) -> Any:
    if isinstance(node, dict):
        for key, value in node.items():
            node[key] = _substitute(value, origin, (*keys, str(key)))
        return node
    if isinstance(node, list):
        return [_substitute(v, origin, keys) for v in node]
    if isinstance(node, str) and "{" in node:

        def replace(match: re.Match[str]) -> str:
            kind, arg = match.group(1), match.group(2).strip()
            if kind == "env":
                name, has_default, default = arg.partition(":-")
                name = name.strip()
                if _is_secret_key(keys):
                    _SECRET_ENV.add(name)
                    remember_secret_env(name)
                value = os.environ.get(name)
                if has_default:
                    return value or default
                if value is None:
                    raise ConfigError(
                        f"{origin.where(keys)}: key {'.'.join(keys)}: environment variable "
                        f"{name} is not set; export it, or write {{env:{name}:-DEFAULT}} "
                        "to use DEFAULT when it is unset"
                    )
                return value
            path = Path(arg).expanduser()
            if not path.is_absolute():
                path = origin.path.parent / path
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"{origin.where(keys)}: key {'.'.join(keys)}: {{file:{arg}}} cannot be read "
                    f"({exc.strerror}); create the file or fix the path"
                ) from exc

        return _SUBST.sub(replace, node)
    return node


def substitute_values(data: dict[str, Any], source: Path, keys: tuple[str, ...]) -> None:
    """``{env:...}``/``{file:...}`` in ``data`` (read from ``source``, e.g. ``.mcp.json``),
    in place, with the same rules and errors as opencode.toml."""
    _substitute(data, _Origin(source, ""), keys)


def _merge(
    into: dict[str, Any],
    data: dict[str, Any],
    origins: dict[str, _Origin],
    origin: _Origin,
    keys: tuple[str, ...],
) -> None:
    for key, value in data.items():
        path = (*keys, str(key))
        origins[".".join(path)] = origin
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value, origins, origin, path)
        else:
            into[key] = value
            if isinstance(value, dict):
                _record(value, origins, origin, path)


def _record(
    data: dict[str, Any], origins: dict[str, _Origin], origin: _Origin, keys: tuple[str, ...]
) -> None:
    for key, value in data.items():
        path = (*keys, str(key))
        origins[".".join(path)] = origin
        if isinstance(value, dict):
            _record(value, origins, origin, path)


class _Checker:
    def __init__(self, origins: dict[str, _Origin]) -> None:
        self.origins = origins

    def fail(self, keys: tuple[str, ...], expected: str, got: Any) -> ConfigError:
        dotted = ".".join(keys)
        origin = self.origins.get(dotted)
        where = origin.where(keys) if origin else "built-in defaults"
        shown = "a table" if isinstance(got, dict) else repr(got)
        if keys and keys[-1] == "api_key":
            shown = "(hidden)"
        return ConfigError(f"{where}: key {dotted}: expected {expected}, got {shown}")

    def string(
        self, data: dict[str, Any], keys: tuple[str, ...], default: str | None = None
    ) -> str | None:
        value = data.get(keys[-1], default)
        if value is not None and not isinstance(value, str):
            raise self.fail(keys, "a string", value)
        return value

    def table(self, data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
        value = data.get(keys[-1], {})
        if not isinstance(value, dict):
            raise self.fail(keys, "a table", value)
        return value


def _build(
    merged: dict[str, Any], origins: dict[str, _Origin], paths: list[Path], cwd: Path
) -> Config:
    check = _Checker(origins)
    model = check.string(merged, ("model",), DEFAULT_MODEL) or DEFAULT_MODEL

    data_dir_env = os.environ.get("OPENCODE_DATA_DIR")
    if data_dir_env:
        data_dir = Path(data_dir_env).expanduser()
    else:
        raw_dir = check.string(merged, ("data_dir",))
        if raw_dir:
            data_dir = Path(raw_dir).expanduser()
            if not data_dir.is_absolute():
                origin = origins.get("data_dir")
                data_dir = (origin.path.parent if origin else cwd) / data_dir
        else:
            data_dir = default_data_dir()

    max_steps = merged.get("max_steps", DEFAULT_MAX_STEPS)
    if not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 1:
        raise check.fail(("max_steps",), "a positive integer", max_steps)
    # Read by sessions/providers/resilience/audit.py when an engine opens; checked here so a
    # bad value is a config error (exit 2) in every front end, not a failure at open.
    keep_days = check.table(merged, ("audit",)).get("keep_days", 30)
    if not isinstance(keep_days, int) or isinstance(keep_days, bool) or keep_days < 0:
        raise check.fail(("audit", "keep_days"), "whole days, 0 to keep every row", keep_days)

    providers: dict[str, ProviderConfig] = {}
    user_providers = check.table(merged, ("provider",))
    for name in sorted(set(BUILTIN_PROVIDERS) | set(user_providers)):
        table = dict(BUILTIN_PROVIDERS.get(name, {}))
        user = user_providers.get(name, {})
        if not isinstance(user, dict):
            raise check.fail(("provider", name), "a table", user)
        if name in BUILTIN_PROVIDERS:
            _substitute(table, _Origin(Path("<built-in>"), ""), ("provider", name))
        table.update(user)
        providers[name] = _provider(name, table, check)

    permission = _permission(check.table(merged, ("permission",)), check)
    system_prompt = check.string(merged, ("system_prompt",))
    sandbox = _sandbox(check.table(merged, ("sandbox",)), check, (*paths, data_dir))
    return Config(
        model=model,
        data_dir=data_dir,
        providers=providers,
        permission=permission,
        max_steps=max_steps,
        system_prompt=system_prompt,
        sandbox=sandbox,
        sources=paths,
        raw=merged,
    )


_PROVIDER_KEYS = {"api", "base_url", "api_key", "models", "headers", "timeout", "max_retries"}


def _provider(name: str, table: dict[str, Any], check: _Checker) -> ProviderConfig:
    keys = ("provider", name)
    api = table.get("api")
    if api not in API_KINDS:
        raise check.fail((*keys, "api"), f"one of {', '.join(API_KINDS)}", api)
    base_url = check.string(table, (*keys, "base_url"), "") or ""
    if api != "local" and not re.match(r"^https?://", base_url):
        raise check.fail((*keys, "base_url"), "an http:// or https:// URL", base_url)
    api_key = check.string(table, (*keys, "api_key")) or None
    models = table.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise check.fail((*keys, "models"), "a list of model names", models)
    headers = table.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise check.fail((*keys, "headers"), "a table of string values", headers)
    timeout = table.get("timeout", 120)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise check.fail((*keys, "timeout"), "a positive number of seconds", timeout)
    retries = table.get("max_retries", 2)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise check.fail((*keys, "max_retries"), "a non-negative integer", retries)
    options = {k: v for k, v in table.items() if k not in _PROVIDER_KEYS}
    return ProviderConfig(
        name=name,
        api=cast(ApiKind, api),
        base_url=base_url.rstrip("/"),
        api_key=api_key,
        models=tuple(models),
        headers=dict(headers),
        timeout=float(timeout),
        max_retries=retries,
        options=options,
    )


def _permission(table: dict[str, Any], check: _Checker) -> PermissionConfig:
    tools: dict[str, str] = {}
    bash: list[tuple[str, str]] = []
    for tool, value in table.items():
        keys = ("permission", tool)
        if tool == "bash" and isinstance(value, dict):
            for pattern, action in value.items():
                if action not in ACTIONS:
                    raise check.fail((*keys, pattern), "allow, ask or deny", action)
                bash.append((pattern, action))
            continue
        if value not in ACTIONS:
            raise check.fail(keys, "allow, ask or deny", value)
        tools[tool] = value
    return PermissionConfig(tools=tools, bash=tuple(bash))


def _sandbox(table: dict[str, Any], check: _Checker, protect: tuple[Path, ...]) -> SandboxConfig:
    flags: dict[str, bool] = {}
    for key in ("enabled", "network", "unix_sockets"):
        value = table.get(key, key == "enabled")
        if not isinstance(value, bool):
            raise check.fail(("sandbox", key), "true or false", value)
        flags[key] = value
    lists: dict[str, tuple[str, ...]] = {}
    for key, what in (("network_commands", "bash patterns"), ("writable", "directory paths")):
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise check.fail(("sandbox", key), f"a list of {what}", value)
        lists[key] = tuple(value)
    writable = tuple(Path(p).expanduser() for p in lists["writable"])
    return SandboxConfig(
        flags["enabled"],
        flags["network"],
        lists["network_commands"],
        writable,
        protect=protect,
        unix_sockets=flags["unix_sockets"],
    )


# Keys each table may hold. A key outside these is warned about, not refused (a newer config
# read by an older opencode still loads). Modules that read a new key or section add it here.
TOP_LEVEL_KEYS: set[str] = {
    "model",
    "data_dir",
    "max_steps",
    "system_prompt",
    "provider",
    "permission",
    "sandbox",
    # Sections read by command packages through ``Config.section`` (sessions/ cannot import
    # them to ask): their contents are checked where they are read.
    "sync",
    "backlog",
    "target",
    "verify",
    "proxy",
    "corrections",
    # Subagents: [agents] limits and [agent.NAME] profiles, checked in sessions/agents.py.
    "agents",
    "agent",
    # [[hooks.EVENT]] entries, read by sessions/hooks.py.
    "hooks",
    # [mcp.NAME] servers, read by sessions/mcp/specs.py (which checks each server's keys).
    "mcp",
    "rag",
    # [rewind]: bash snapshot budget, read by sessions/rewind/snapshots.py.
    "rewind",
    "compaction",  # sessions/compaction.py (Settings.from_config checks its keys)
    # [trust] projects = [...]: trusted project roots (global config only; sessions/trust.py).
    "trust",
    # The global fallback chain and the model-list cache TTL (providers/resilience).
    "fallback",
    "models_ttl_s",
    # [audit] keep_days: the provider-call audit's retention (providers/resilience/audit.py).
    "audit",
}
# ``[provider.NAME]`` keys beyond the ones ``_provider`` checks: options adapters read.
PROVIDER_OPTION_KEYS: set[str] = {
    # The context meter's window (sessions/providers/resilience/context.py).
    "context_window",
    "model_path",
    "threads",
    "n_ctx",
    "max_tokens",
    "temperature",
    "seed",
    "extra_body",
    "prefill",
    "tools",
    # The stream reader (sessions/providers/stream_reader.py).
    "max_line_bytes",
    "idle_timeout",
    "stream_timeout",
    "coalesce",
    # context_window (above) is also where compaction starts (sessions/compaction.py).
    # Provider resilience (sessions/providers/resilience/settings.py): fallback chains,
    # breakers, client-side rate limits, model checks, prices.
    "fallback",
    "failure_threshold",
    "cooldown_s",
    "rpm",
    "tpm",
    "check_models",
    "price",
    "first_token_timeout_s",
    "max_wait_s",
}


def unknown_key_warnings(merged: dict[str, Any], origins: dict[str, _Origin]) -> list[str]:
    """One line per key nothing reads: where it is, and the closest known key."""
    found: list[str] = []
    for key in merged:
        if key not in TOP_LEVEL_KEYS:
            found.append(_unknown((key,), TOP_LEVEL_KEYS, origins))
    providers = merged.get("provider")
    if isinstance(providers, dict):
        known = _PROVIDER_KEYS | PROVIDER_OPTION_KEYS
        for name, table in providers.items():
            if isinstance(table, dict):
                for key in table:
                    if key not in known:
                        found.append(_unknown(("provider", name, key), known, origins))
    return found


def _unknown(keys: tuple[str, ...], known: set[str], origins: dict[str, _Origin]) -> str:
    dotted = ".".join(keys)
    origin = origins.get(dotted)
    where = origin.where(keys) if origin else "config"
    close = difflib.get_close_matches(keys[-1], sorted(known), n=1)
    table = f" in [{'.'.join(keys[:-1])}]" if len(keys) > 1 else ""
    advice = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(sorted(known))}"
    return f"opencode: warning: {where}: unknown key {keys[-1]!r}{table} is ignored; {advice}"
