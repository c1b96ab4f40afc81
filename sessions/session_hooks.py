"""How the runner wires hooks (``sessions/hooks.py``) into sessions: loading the hook set and
showing what hooks reported.

A hook's problems (a failing hook, a bad output) are shown to the user as error lines with no
message id: they are not session rows and are never sent to the model.
"""

from __future__ import annotations

from pathlib import Path

from opencode.sessions.config import Config
from opencode.sessions.events import ErrorOccurred, EventBus
from opencode.sessions.hooks import HookRunner
from opencode.sessions.ids import new_id


def hook_runner(config: Config, cwd: Path) -> HookRunner:
    """The project's hooks, or a ``ConfigError`` saying what is wrong where."""
    from opencode.sessions.config import ConfigError
    from opencode.sessions.hooks import HookConfigError, load_hooks

    try:
        hooks = load_hooks(config.section("hooks"), cwd, config.sources)
    except HookConfigError as exc:
        raise ConfigError(str(exc)) from exc
    return HookRunner(hooks, cwd, config.data_dir / "hooks.jsonl")


async def hook_problems(bus: EventBus, session_id: str, lines: list[str]) -> None:
    for line in lines:
        await bus.emit(ErrorOccurred(session_id, None, new_id("prt"), 0, line, None))
