"""Reading and validating a workflow file, before anything runs.

A workflow is TOML (``.toml``), or markdown whose front block holds it (``+++`` TOML or
``---`` YAML; the text after it is the description)::

    name = "sync-with-verification"
    max_parallel = 2          # independent steps at once (default 4)
    allow = ["bash"]          # tools allowed without asking (headless: anything that would
                              # ask is denied)

    [steps.sync]
    command = "/sync run web"            # a registry command
    [steps.verify]
    needs = ["sync"]
    shell = "pytest -q"                  # a shell command, through the bash tool's checks
    on_failure = "retry"                 # stop (default) | continue | retry
    retries = 2
    on_failure_step = ["debug"]          # handler steps run before each retry
    [steps.debug]
    agent = "debug"                      # an agent profile (optional)
    prompt = "The tests fail: ..."       # an agent turn
    model = "openai/gpt-4o-mini"         # optional
    tools = ["read", "grep", "edit"]     # optional: the tools the agent gets

Validation names what is wrong and where: unknown keys, a step with no action or two, a
``needs`` naming an unknown step, a dependency cycle (``a -> b -> a``), a handler step that is
also in the normal flow.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

StepKind = Literal["agent", "command", "shell"]
FailurePolicy = Literal["stop", "continue", "retry"]
FAILURE_POLICIES: tuple[FailurePolicy, ...] = ("stop", "continue", "retry")
DEFAULT_PARALLEL = 4
MAX_PARALLEL = 16
MAX_RETRIES = 10
DEFAULT_SHELL_TIMEOUT_S = 600
MAX_SHELL_TIMEOUT_S = 600  # the bash tool's MAX_TIMEOUT_S
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_TOP_KEYS = {"name", "description", "max_parallel", "allow", "steps"}
_STEP_KEYS = {
    "prompt",
    "command",
    "shell",
    "agent",
    "model",
    "tools",
    "system",
    "needs",
    "on_failure",
    "retries",
    "on_failure_step",
    "timeout",
    "max_steps",
}


class WorkflowError(Exception):
    """The workflow file is invalid; the message names the file, the step and the fix."""


@dataclass(frozen=True, slots=True)
class StepSpec:
    name: str
    kind: StepKind
    action: str  # the prompt, the command line, or the shell command
    needs: tuple[str, ...] = ()
    agent: str | None = None
    model: str | None = None
    tools: tuple[str, ...] | None = None
    system: str | None = None
    on_failure: FailurePolicy = "stop"
    retries: int = 0
    on_failure_step: tuple[str, ...] = ()
    timeout: float = DEFAULT_SHELL_TIMEOUT_S
    max_steps: int | None = None
    # Environment variables a shell step's command gets (the executor sets OPENCODE_FAILURE
    # for a handler): data reaches the shell as a value, never as command-line text.
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class WorkflowSpec:
    name: str
    source: Path
    steps: dict[str, StepSpec]
    max_parallel: int = DEFAULT_PARALLEL
    allow: tuple[str, ...] = ()
    description: str = ""
    sha256: str = ""
    handlers: frozenset[str] = field(default_factory=frozenset)

    @property
    def flow(self) -> list[str]:
        """The steps of the normal flow (not only run as failure handlers), in file order."""
        return [name for name in self.steps if name not in self.handlers]


def load_workflow(path: Path) -> WorkflowSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkflowError(f"workflow file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError(f"cannot read workflow file {path}: {exc}") from None
    return parse_workflow(text, path)


def parse_workflow(text: str, source: Path) -> WorkflowSpec:
    data, description = _document(text, source)
    where = str(source)
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise WorkflowError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_TOP_KEYS))}"
        )
    name = data.get("name", source.stem)
    if not isinstance(name, str) or not name.strip():
        raise WorkflowError(f"{where}: name must be a non-empty string")
    parallel = data.get("max_parallel", DEFAULT_PARALLEL)
    if (
        not isinstance(parallel, int)
        or isinstance(parallel, bool)
        or not 1 <= parallel <= MAX_PARALLEL
    ):
        raise WorkflowError(f"{where}: max_parallel must be an integer from 1 to {MAX_PARALLEL}")
    allow = _strings(data.get("allow", []), f"{where}: allow")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, dict) or not raw_steps:
        raise WorkflowError(
            f"{where}: no steps; add at least one [steps.NAME] table with prompt, command or shell"
        )
    steps = {key: _step(key, value, where) for key, value in raw_steps.items()}
    handlers = _check_graph(steps, where)
    canonical = json.dumps(
        {"steps": raw_steps, "allow": list(allow)}, sort_keys=True, default=str
    ).encode()
    return WorkflowSpec(
        name=name.strip(),
        source=source,
        steps=steps,
        max_parallel=parallel,
        allow=allow,
        description=str(data.get("description", description)).strip(),
        sha256=hashlib.sha256(canonical).hexdigest(),
        handlers=handlers,
    )


def _document(text: str, source: Path) -> tuple[dict[str, Any], str]:
    """The workflow table and the markdown description (empty for a .toml file)."""
    if source.suffix.lower() in (".md", ".markdown"):
        lines = text.splitlines()
        fence = lines[0].strip() if lines else ""
        if fence not in ("+++", "---"):
            raise WorkflowError(
                f"{source}: a markdown workflow starts with a front block: a line '+++' (TOML) "
                "or '---' (YAML), the workflow, then the same line again"
            )
        try:
            end = next(i for i in range(1, len(lines)) if lines[i].strip() == fence)
        except StopIteration:
            raise WorkflowError(
                f"{source}: the front block opened with {fence!r} is never closed"
            ) from None
        block, rest = "\n".join(lines[1:end]), "\n".join(lines[end + 1 :])
        return (_toml(block, source, 1) if fence == "+++" else _yaml(block, source)), rest
    return _toml(text, source, 0), ""


def _toml(text: str, source: Path, offset: int) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        if offset:
            message += (
                f" (line numbers count from the front block's first line, file line {offset + 1})"
            )
        raise WorkflowError(f"{source}: invalid TOML: {message}") from None


def _yaml(text: str, source: Path) -> dict[str, Any]:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        raise WorkflowError(
            f"{source}: a '---' YAML front block needs PyYAML (pip install pyyaml); or write the "
            "front block as TOML between '+++' lines"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WorkflowError(f"{source}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise WorkflowError(f"{source}: the front block must be a mapping of keys")
    return data


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise WorkflowError(f"{where} must be a list of names (strings), got {value!r}")
    return tuple(value)


def _step(name: str, raw: Any, source: str) -> StepSpec:
    where = f"{source}: step {name!r}"
    if not _NAME.match(name):
        raise WorkflowError(f"{where}: a step name uses letters, digits, '_', '-' or '.'")
    if not isinstance(raw, dict):
        raise WorkflowError(f"{where}: must be a table ([steps.{name}])")
    unknown = sorted(set(raw) - _STEP_KEYS)
    if unknown:
        raise WorkflowError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_STEP_KEYS))}"
        )
    actions = [key for key in ("prompt", "command", "shell") if key in raw]
    if len(actions) != 1:
        raise WorkflowError(
            f"{where}: give exactly one of prompt (an agent turn), command (a registry "
            f"command such as '/sync run web') or shell (a shell command); got "
            f"{', '.join(actions) or 'none'}"
        )
    key = actions[0]
    action = raw[key]
    if not isinstance(action, str) or not action.strip():
        raise WorkflowError(f"{where}: {key} must be a non-empty string")
    kind: StepKind = "agent" if key == "prompt" else "command" if key == "command" else "shell"
    if kind != "agent":
        for agent_only in ("agent", "model", "tools", "system", "max_steps"):
            if agent_only in raw:
                raise WorkflowError(f"{where}: {agent_only} applies to agent steps (prompt) only")
    policy = raw.get("on_failure", "stop")
    if policy not in FAILURE_POLICIES:
        raise WorkflowError(
            f"{where}: on_failure must be one of {', '.join(FAILURE_POLICIES)}, got {policy!r}"
        )
    handlers = _strings(raw.get("on_failure_step", []), f"{where}: on_failure_step")
    retries = raw.get("retries")
    if retries is None:
        retries = 1 if (policy == "retry" or handlers) else 0
    if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= MAX_RETRIES:
        raise WorkflowError(f"{where}: retries must be an integer from 0 to {MAX_RETRIES}")
    if handlers and policy == "stop":
        policy = "retry"  # a handler exists to fix things before the step runs again
    timeout = raw.get("timeout", DEFAULT_SHELL_TIMEOUT_S)
    if (
        not isinstance(timeout, int | float)
        or isinstance(timeout, bool)
        or not 1 <= timeout <= MAX_SHELL_TIMEOUT_S
    ):
        raise WorkflowError(
            f"{where}: timeout must be from 1 to {MAX_SHELL_TIMEOUT_S} seconds (the bash "
            "tool's limit); split longer work into several steps"
        )
    max_steps = raw.get("max_steps")
    if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
        raise WorkflowError(f"{where}: max_steps must be a positive integer")
    tools = raw.get("tools")
    for text_key in ("agent", "model", "system"):
        if text_key in raw and not isinstance(raw[text_key], str):
            raise WorkflowError(f"{where}: {text_key} must be a string")
    return StepSpec(
        name=name,
        kind=kind,
        action=action.strip(),
        needs=_strings(raw.get("needs", []), f"{where}: needs"),
        agent=raw.get("agent"),
        model=raw.get("model"),
        tools=None if tools is None else _strings(tools, f"{where}: tools"),
        system=raw.get("system"),
        on_failure=policy,
        retries=retries,
        on_failure_step=handlers,
        timeout=float(timeout),
        max_steps=max_steps,
    )


def _check_graph(steps: dict[str, StepSpec], where: str) -> frozenset[str]:
    """Unknown names, handler misuse and cycles; returns the handler step names."""
    handlers: set[str] = set()
    for step in steps.values():
        for ref, key in [(n, "needs") for n in step.needs] + [
            (n, "on_failure_step") for n in step.on_failure_step
        ]:
            if ref not in steps:
                raise WorkflowError(
                    f"{where}: step {step.name!r}: {key} names unknown step {ref!r}; steps: "
                    f"{', '.join(steps)}"
                )
            if ref == step.name:
                raise WorkflowError(f"{where}: step {step.name!r} names itself in {key}")
        handlers.update(step.on_failure_step)
    for step in steps.values():
        if step.name in handlers and step.on_failure_step:
            raise WorkflowError(
                f"{where}: step {step.name!r} is an on_failure_step handler and cannot have "
                "handlers of its own (recovery must not loop)"
            )
        needed_handlers = [n for n in step.needs if n in handlers]
        if needed_handlers:
            raise WorkflowError(
                f"{where}: step {step.name!r} needs {needed_handlers[0]!r}, which only runs as "
                "an on_failure_step handler; make it a normal step or drop it from needs"
            )
        if step.name in handlers and step.needs:
            raise WorkflowError(
                f"{where}: handler step {step.name!r} runs when its step fails, so it cannot "
                "have needs"
            )
    cycle = find_cycle({name: step.needs for name, step in steps.items()})
    if cycle:
        raise WorkflowError(f"{where}: dependency cycle: {' -> '.join(cycle)}; nothing was run")
    return frozenset(handlers)


def find_cycle(graph: dict[str, tuple[str, ...]]) -> list[str] | None:
    """A cycle as ``[a, b, a]`` (each needs the next), or None; iterative, so deep chains
    cannot overflow the stack."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for start in graph:
        if state.get(start):
            continue
        path: list[str] = [start]
        iters = [iter(graph[start])]
        state[start] = 1
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(graph.get(nxt, ())))
    return None


def topological_order(spec: WorkflowSpec) -> list[str]:
    """The flow's steps in an order where each comes after what it needs (file order kept
    among independent ones)."""
    done: list[str] = []
    placed: set[str] = set()
    pending = spec.flow
    while pending:
        ready = [n for n in pending if all(d in placed for d in spec.steps[n].needs)]
        done += ready
        placed.update(ready)
        pending = [n for n in pending if n not in placed]
    return done
