"""The Textual app: ``run_app`` (called by ``opencode`` with no subcommand) and ``OpencodeApp``.

Keeps import light: screens are built by factories in ``SCREENS`` and imported when first
shown. The app owns the ``Engine`` (store, bus, runner), answers the runner's permission
questions with a modal, offers its actions in the command palette, and remembers the theme in
``<data_dir>/tui.json``. Input comes first: each key (paste, click, wheel step) holds the
app's ``InputGate`` (``tui/pacing.py``) from its arrival until the frame after it is handled.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message

from opencode.tui.pacing import InputGate

if TYPE_CHECKING:
    from textual.screen import Screen

    from opencode.commands.registry import CommandContext
    from opencode.sessions.config import Config
    from opencode.sessions.engine import Engine
    from opencode.sessions.runner import PermissionAnswer, PermissionRequest, ProviderFactory
    from opencode.tui.commands import ChatActions
    from opencode.tui.screens.chat import ChatScreen
    from opencode.tui.widgets.transcript import Transcript


# What a person does that must show at once, however fast a reply streams (not MouseMove:
# a mouse crossing the terminal would stall the stream).
_INPUT = (events.Key, events.Paste, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)


def _chat_screen() -> Screen[Any]:
    from opencode.tui.screens.chat import ChatScreen

    return ChatScreen()


class OpencodeApp(App[int]):
    TITLE = "opencode"
    SCREENS: ClassVar[dict[str, Callable[[], Screen[Any]]]] = {"chat": _chat_screen}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        *,
        config: Config,
        cwd: Path,
        session_id: str | None = None,
        continue_latest: bool = False,
        model: str | None = None,
        provider_factory: ProviderFactory | None = None,
        tools: dict[str, Any] | None = None,
        open_session: bool = True,
    ) -> None:
        super().__init__()
        from opencode.sessions.engine import Engine

        self.config = config
        self.cwd = cwd
        self.engine: Engine = Engine(config, cwd, provider_factory=provider_factory, tools=tools)
        self._provider_factory, self._tools = provider_factory, tools  # a rebuild after trust
        self.engine.model = model
        self._start = {"session_id": session_id, "continue_latest": continue_latest}
        self._open_session = open_session or bool(session_id or continue_latest)
        self.startup_error: str | None = None
        self.input_gate = InputGate()  # streaming work waits while input is on its way
        self._gc_threshold: tuple[int, int, int] | None = None
        self._state_path = config.data_dir / "tui.json"
        self._state = self._load_state()
        theme = self._state.get("theme")
        if isinstance(theme, str) and theme in self.available_themes:
            self.theme = theme

    # ------------------------------------------------------------------ input first

    def post_message(self, message: Message) -> bool:
        if isinstance(message, _INPUT) and not message.is_forwarded:
            self.input_gate.hold()  # released once the screen has painted what it did
        return super().post_message(message)

    async def on_event(self, event: events.Event) -> None:
        fresh = isinstance(event, _INPUT) and not event.is_forwarded
        await super().on_event(event)
        if fresh:
            # Forwarded by now into the focused widget's queue (behind the event): its
            # callback runs after that widget has handled it and the screen has refreshed.
            target = self.focused if isinstance(event, events.Key | events.Paste) else None
            if not (target or self.screen).call_after_refresh(self.input_gate.release):
                self.input_gate.release()

    # ------------------------------------------------------------------ lifecycle

    async def on_mount(self) -> None:
        state = self.config.trust
        if state is not None and not state.trusted and state.pending():
            # Before the engine opens: a trusted project's hooks and MCP servers start with it.
            from opencode.tui.screens.trust import TrustScreen

            screen = TrustScreen(state.root, state.reason, state.pending())
            await self.push_screen(screen, self._trust_answered)
            return
        await self._start_up()

    async def _trust_answered(self, trusted: bool | None) -> None:
        if trusted:
            from opencode.sessions.config import ConfigError, load_config
            from opencode.sessions.engine import Engine
            from opencode.sessions.trust import trust

            trust(self.cwd)
            try:
                self.config = load_config(self.cwd, warn=lambda line: None)
            except ConfigError as exc:
                self.startup_error = f"{exc} (read now that the project is trusted)"
                self.exit(2)
                return
            model = self.engine.model
            self.engine = Engine(
                self.config, self.cwd, provider_factory=self._provider_factory, tools=self._tools
            )
            self.engine.model = model
        await self._start_up()

    async def _start_up(self) -> None:
        from opencode.sessions.store.db import StoreError

        try:
            await self.engine.open(self.ask_permission)
        except StoreError as exc:
            self.startup_error = str(exc)
            self.exit(1)
            return
        await self.push_screen("chat")
        self._offer_mcp_prompts()
        # Everything built so far (modules, styles, widgets) lives as long as the app: keep it
        # out of the cyclic collector, whose full passes otherwise stall streaming by 100+ ms.
        # With these thresholds a full pass comes on its own only every few hundred turns
        # (and then took seconds): the app runs one at quiet moments instead, see
        # on_transcript_released.
        self._gc_threshold = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(5000, 20, 100)
        if self._open_session:
            opened = await self.chat.open_session(
                session_id=self._start["session_id"],  # type: ignore[arg-type]
                continue_latest=bool(self._start["continue_latest"]),
            )
            if not opened and (self._start["session_id"] or self._start["continue_latest"]):
                self.startup_error = "could not resume the session"

    def _offer_mcp_prompts(self) -> None:
        """In the background: the MCP servers' prompts become /SERVER:PROMPT commands."""
        from opencode.sessions.mcp.specs import has_servers

        if self.engine.tools is None and has_servers(self.config, self.cwd):
            self.run_worker(
                self._register_mcp_prompts(),
                group="mcp-prompts",
                exclusive=True,
                exit_on_error=False,
                description="list MCP prompts",
            )

    async def _register_mcp_prompts(self) -> None:
        from opencode.commands.mcp.slash import list_prompts
        from opencode.commands.registry import CommandError
        from opencode.tui.commands import register_mcp_prompts, slash_entries

        try:
            prompts = await list_prompts(self.config, self.cwd)
        except CommandError:
            return  # a bad [mcp] table: the first turn reports it
        if register_mcp_prompts(prompts):
            self.chat.prompt.entries = slash_entries()

    async def on_unmount(self) -> None:
        if self.engine.is_open:
            await self.engine.close()
        if self._gc_threshold is not None:  # leave the process as we found it (tests)
            gc.unfreeze()
            gc.set_threshold(*self._gc_threshold)

    def on_transcript_released(self, event: Transcript.Released) -> None:
        # Widgets of old messages are reference cycles, and full collections are rare here
        # (the thresholds set in _start_up): without one they pile up, ~0.4 MB per 20 KB
        # reply. The transcript releases when a turn starts or a session opens, not mid-stream.
        self.call_after_refresh(self.collect_garbage)

    def collect_garbage(self) -> None:
        """A full collection. What start-up froze is not traversed: it costs what was made
        since and is alive (the screen's drawn lines, the messages mounted), not the length
        of the session; tens of ms of CPU on a busy 2-core machine (bench/tui_long_session)."""
        gc.collect()

    @property
    def chat(self) -> ChatScreen:
        from opencode.tui.screens.chat import ChatScreen

        screen = self.get_screen("chat")
        assert isinstance(screen, ChatScreen)
        return screen

    def command_context(
        self, progress: Callable[[str], None], chat: ChatActions | None = None
    ) -> CommandContext:
        from opencode.tui.commands import TuiContext

        return TuiContext(
            store=self.engine.store,
            config=self.config,
            cwd=self.cwd,
            progress=progress,
            interactive=True,
            chat=chat,
        )

    # ------------------------------------------------------------------ permissions

    async def ask_permission(self, request: PermissionRequest) -> PermissionAnswer:
        from opencode.tui.screens.permission import PermissionScreen

        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def answered(answer: str | None) -> None:
            if not future.done():
                future.set_result(answer or "deny")

        status = self.chat.status
        previous, status.state = status.state, f"{request.tool} needs permission"
        screen = PermissionScreen(request.tool, request.subject, request.arguments)
        await self.push_screen(screen, answered)
        try:
            answer = await future
        finally:
            status.state = previous
            if screen.stray:  # typed for the prompt as the modal opened: not lost
                self.chat.prompt.insert(screen.stray)
        if answer == "allow_once":
            return "allow_once"
        if answer == "allow_session":
            return "allow_session"
        return "deny"

    # ------------------------------------------------------------------ palette, themes

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        from opencode.tui.screens.chat import ChatScreen

        if not isinstance(screen, ChatScreen):
            return
        chat = screen
        yield SystemCommand(
            "Backlog panel",
            "Show or hide the backlog (F2)",
            lambda: chat.action_toggle_panel("backlog"),
        )
        yield SystemCommand(
            "Targets panel",
            "Show or hide the target registry (F3)",
            lambda: chat.action_toggle_panel("target"),
        )
        yield SystemCommand(
            "Verification panel",
            "Show or hide verification results (F4)",
            lambda: chat.action_toggle_panel("verification"),
        )
        yield SystemCommand("New session", "Start a new session (Ctrl+N)", chat.action_new_session)
        yield SystemCommand(
            "Resume session", "Pick a session to resume", lambda: chat.run_slash("/sessions")
        )
        yield SystemCommand(
            "Pick model", "Choose the model for this session", lambda: chat.run_slash("/model")
        )
        yield SystemCommand(
            "Export session", "Write this session as markdown", lambda: chat.run_slash("/export")
        )
        yield SystemCommand("Help", "List every slash command", lambda: chat.run_slash("/help"))

    def watch_theme(self, theme: str) -> None:
        if self._state.get("theme") != theme:
            self._state["theme"] = theme
            self._save_state()

    def _load_state(self) -> dict[str, Any]:
        try:
            data = json.loads(self._state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save_state(self) -> None:
        try:
            self._state_path.parent.mkdir(parents=True, exist_ok=True)
            self._state_path.write_text(json.dumps(self._state), encoding="utf-8")
        except OSError as exc:
            self.notify(
                f"cannot save UI state to {self._state_path}: {exc.strerror}",
                severity="warning",
                markup=False,  # a path may hold [brackets]
            )


def run_app(
    *,
    config: Config,
    cwd: Path,
    session_id: str | None = None,
    continue_latest: bool = False,
    model: str | None = None,
) -> int:
    """Run the TUI until the user quits; the exit code for ``opencode``."""
    import sys

    from opencode.sessions.config import ConfigError

    if model:
        try:
            config.resolve_model(model)
        except ConfigError as exc:
            print(f"opencode: {exc}", file=sys.stderr)
            return 2
    # A new session is created with the first message, not on start.
    app = OpencodeApp(
        config=config,
        cwd=cwd,
        session_id=session_id,
        continue_latest=continue_latest,
        model=model,
        open_session=False,
    )
    code = app.run()
    if app.startup_error:
        print(f"opencode: {app.startup_error}", file=sys.stderr)
    return code if isinstance(code, int) else 0
