"""The chat screen: transcript, prompt, side panels, status line; slash commands and turns.

A message is sent as one runner turn in an exclusive worker (Esc cancels it; the runner
persists it as interrupted). A message sent while a turn runs is queued (``QueuedPrompts``)
and sent when the turn ends; an interrupted or failed turn puts the queue back into the
prompt, so typed text is never thrown away. A typed line starting with ``!`` is a shell
command run for the user (``Engine.shell``), its output kept as context; typed ``@path``
mentions are attached (``Engine.send(mentions=True)``). A line starting with ``/`` is a command
of the one registry: the chat's own (``/new``, ``/sessions``, ``/model``..., declared in
``opencode.tui.commands`` and acting on this screen through ``ChatActions``) or any shared one,
whose result is shown in the transcript; panels whose domain the command changed are reloaded.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher

from opencode.sessions.events import (
    MessageFinished,
    MessageStarted,
    PartDelta,
    SessionEvent,
    SessionStarted,
    SessionTitled,
    TodosUpdated,
    ToolOutputDelta,
    TurnFinished,
)
from opencode.tui.commands import custom_warnings, slash_entries
from opencode.tui.messages import DataChanged, PromptSubmitted
from opencode.tui.pacing import Pacer
from opencode.tui.replay import child_events
from opencode.tui.widgets.command_output import CommandOutput
from opencode.tui.widgets.footer import KeysFooter
from opencode.tui.widgets.markdown_stream import warm_up
from opencode.tui.widgets.prompt import PromptArea, PromptBar
from opencode.tui.widgets.queued import QueuedPrompts
from opencode.tui.widgets.status import StatusLine
from opencode.tui.widgets.todo import TodoPanel
from opencode.tui.widgets.tool_call import running_view
from opencode.tui.widgets.transcript import PAGE, Transcript
from opencode.tui.widgets.welcome import Welcome

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from opencode.commands.registry import Command
    from opencode.sessions.store.sessions import MessageRecord
    from opencode.tui.host import ChatHost
    from opencode.tui.panels.base import DataPanel

PANELS = {"backlog": "panel-backlog", "target": "panel-targets", "verification": "panel-verify"}
PANELS["workflow"] = "panel-workflows"
PANELS["corrections"] = "panel-corrections"


def panel_types() -> dict[str, type[DataPanel]]:
    """The side panel of each domain in ``PANELS``. Imported, composed and mounted when first
    opened: all are hidden at start, and importing and composing them (a DataTable each)
    cost the first frame about 35 ms of its 300."""
    from opencode.tui.panels.backlog import BacklogPanel
    from opencode.tui.panels.corrections import CorrectionsPanel
    from opencode.tui.panels.targets import TargetsPanel
    from opencode.tui.panels.verification import VerificationPanel
    from opencode.tui.panels.workflows import WorkflowsPanel

    return {
        "backlog": BacklogPanel,
        "target": TargetsPanel,
        "verification": VerificationPanel,
        "workflow": WorkflowsPanel,
        "corrections": CorrectionsPanel,
    }


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())  # a title on one line
    return text if len(text) <= width else text[: width - 1] + "…"


class ChatScreen(Screen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_turn", "Cancel turn"),
        Binding("f2", "toggle_panel('backlog')", "Backlog"),
        Binding("f3", "toggle_panel('target')", "Targets"),
        Binding("f4", "toggle_panel('verification')", "Verify"),
        # Not shown in the footer (its layout is pinned by snapshot tests); F5 still opens it.
        Binding("f5", "toggle_panel('workflow')", "Workflows", show=False),
        # F6/F7 are the prompt's own (TextArea: select line, select all).
        Binding("f8", "toggle_panel('corrections')", "Corrections", show=False),
        Binding("ctrl+n", "new_session", "New"),
        # The todo checklist above the prompt (not in the footer: its layout is pinned).
        Binding("ctrl+t", "toggle_todos", "Todos", show=False),
        Binding("ctrl+c", "interrupt", "Interrupt", show=False, priority=True),
        # Priority: the prompt (a TextArea) would otherwise take them to move its cursor.
        Binding("pageup", "scroll_transcript(-1)", "Page up", show=False, priority=True),
        Binding("pagedown", "scroll_transcript(1)", "Page down", show=False, priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.running = False
        self._interrupt_at = float("-inf")  # last Ctrl+C with no turn running

    @property
    def oc_app(self) -> ChatHost:
        """The hosting app, seen through the ``ChatHost`` protocol (never the app module)."""
        from opencode.tui.host import ChatHost

        assert isinstance(self.app, ChatHost), "the chat screen needs a ChatHost app"
        return self.app

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="chat"):
                yield Transcript(id="transcript")
                yield TodoPanel(id="todos")
                yield PromptBar()
            with Vertical(id="side"):
                yield ContentSwitcher(initial=None)  # panels mounted when first opened
        yield StatusLine(id="status")
        yield KeysFooter()

    @property
    def transcript(self) -> Transcript:
        return self.query_one("#transcript", Transcript)

    @property
    def prompt(self) -> PromptArea:
        return self.query_one("#prompt", PromptArea)

    @property
    def todos(self) -> TodoPanel:
        return self.query_one("#todos", TodoPanel)

    @property
    def queued(self) -> QueuedPrompts:
        return self.query_one("#queued", QueuedPrompts)

    @property
    def status(self) -> StatusLine:
        return self.query_one("#status", StatusLine)

    def on_mount(self) -> None:
        prompt = self.prompt
        # After the first frame: completion needs every command module imported, which
        # costs more than the frame (and a typed /command finds the registry either way).
        self.call_after_refresh(self._load_slash_entries)
        # After the first frame too: the first reply's markdown imports, in small steps.
        gate = getattr(self.app, "input_gate", None)
        self.call_after_refresh(
            lambda: self.run_worker(warm_up(gate), group="warm-markdown", exit_on_error=False)
        )
        prompt.focus()
        engine = self.oc_app.engine
        engine.bus.subscribe(self.transcript.handle_event)
        engine.bus.subscribe(self._on_event)
        # Last: it may pause the runner for the keys' sake (and while a key is on its way).
        engine.bus.subscribe(Pacer(getattr(self.app, "input_gate", None)))
        self.transcript.load_earlier = self._load_earlier
        self.transcript.load_children = lambda messages: child_events(
            self.oc_app.engine.repo, messages
        )
        self.status.model = engine.model or self.oc_app.config.model
        engine.on_notice = self.status.show_notice  # fallback answered, breaker open, waits
        engine.on_compacted = self.status.show_compaction
        engine.on_compacting = self.status.show_compacting
        engine.mcp_warn = self.status.show_warning  # not stderr: the screen is ours
        self.show_welcome()

    # ------------------------------------------------------------------ welcome

    def show_welcome(self) -> None:
        """An empty chat shows where it is, the model and whether it answers, and the keys."""
        transcript = self.transcript
        if transcript.query(Welcome):
            return
        host = self.oc_app
        welcome = Welcome(host.config, host.cwd, host.engine.model or host.config.model)
        if transcript.children:
            transcript.mount(welcome, before=0)
        else:
            transcript.mount(welcome)

    def hide_welcome(self) -> None:
        self.transcript.query(Welcome).remove()

    def _load_slash_entries(self) -> None:
        self.prompt.entries = slash_entries()  # the registry's, the chat's own included
        for line in custom_warnings():  # broken or clashing .opencode/commands files
            # A file name or an MCP server's words: shown as written, never read as markup.
            self.notify(line, severity="warning", timeout=10, markup=False)

    # ------------------------------------------------------------------ sessions

    async def open_session(
        self,
        *,
        session_id: str | None = None,
        continue_latest: bool = False,
        model: str | None = None,
    ) -> bool:
        """Resume or create a session and show its latest page. False (and a message) if the
        session or model does not exist."""
        from opencode.sessions.config import ConfigError
        from opencode.sessions.runner import RunnerError

        engine = self.oc_app.engine
        try:
            record = await engine.start(
                session_id=session_id, continue_latest=continue_latest, model=model
            )
        except (RunnerError, ConfigError) as exc:
            self.show_output("session", str(exc), failed=True)
            return False
        total = await engine.repo.count_messages(record.id)
        messages = await engine.messages(record.id, limit=PAGE) if total else []
        await self.transcript.show_history(record.id, messages, total > len(messages))
        if not total:
            self.show_welcome()
        from opencode.sessions.store.todos import load_todos

        self.todos.show_todos(await load_todos(engine.repo.store, record.id))
        self.status.title = record.title
        self.status.model = engine.model or record.model
        self.status.input_tokens = record.input_tokens
        self.status.output_tokens = record.output_tokens
        self.status.cost = record.cost
        return True

    async def _load_earlier(self, session_id: str, before: str) -> list[MessageRecord]:
        return await self.oc_app.engine.messages(session_id, limit=PAGE, before=before)

    def _on_event(self, event: SessionEvent) -> None:
        if isinstance(event, PartDelta):  # the hot path: nothing for the status line
            return
        if isinstance(event, ToolOutputDelta):  # a running command's output, live
            view = running_view(event.call_id)
            if view is not None:
                view.add_live_output(event.text, event.dropped)
            return
        if isinstance(event, TodosUpdated):
            if event.session_id == self.transcript.session_id:
                self.todos.show_todos(event.todos)
            else:  # a subagent's own list, shown under the session's while the turn runs
                self.todos.show_child(event.session_id, event.todos)
            return
        if isinstance(event, SessionStarted) and event.parent_call_id:
            self.todos.child_started(event.session_id, event.title)
            return  # a subagent starting: the status bar stays the parent's
        if (
            isinstance(event, MessageStarted)
            and event.role == "user"
            and event.session_id == self.transcript.session_id
        ):
            self.hide_welcome()  # the first message: the chat is not empty any more
        if isinstance(event, SessionTitled | TurnFinished) and (
            event.session_id != self.transcript.session_id
        ):
            return  # a subagent's title or end is not the session's
        status = self.status
        if isinstance(event, SessionStarted):
            status.title = event.title
            status.model = event.model
        elif isinstance(event, SessionTitled):
            status.title = event.title
        elif isinstance(event, MessageFinished) and event.usage is not None:
            status.input_tokens += event.usage.input_tokens
            status.output_tokens += event.usage.output_tokens
        if isinstance(event, MessageFinished) and event.session_id == self.transcript.session_id:
            status.show_context(self.oc_app.engine.context_usage())  # the engine saw it first
            status.cost += event.cost or 0.0
        elif isinstance(event, TurnFinished):
            self.todos.clear_children()  # the subagents' lists were this turn's
            status.state = {"stop": "ready", "interrupted": "interrupted"}.get(
                event.finish, event.finish
            )
            if status.context_used and not status.context_window:
                self.run_worker(self._context_window(), exclusive=True, group="ctx")

    async def _context_window(self) -> None:
        """The window the endpoint reports (llama.cpp ``/props``), where it may be asked."""
        engine = self.oc_app.engine
        if await engine.refresh_context_window() is not None:
            self.status.show_context(engine.context_usage())

    # ------------------------------------------------------------------ turns

    async def on_prompt_submitted(self, event: PromptSubmitted) -> None:
        text = event.text
        if text.startswith("/"):
            # In a worker: a long command (/sync run) must not hold up the screen's keys.
            self.run_worker(
                self.run_slash(text), group="slash", exit_on_error=False, description=text
            )
            return
        if self.running:
            self.queued.add(text)
            return
        self.start_turn(text, typed=True)

    def start_turn(self, text: str, **turn: Any) -> None:
        self.hide_welcome()
        self.running = True
        self.status.state = "streaming"
        self.transcript.anchor()
        self.run_worker(
            self._turn(text, **turn),
            group="turn",
            exclusive=True,
            exit_on_error=False,
            description="agent turn",
        )

    async def _turn(self, text: str, **turn: Any) -> None:
        from opencode.sessions.config import ConfigError
        from opencode.sessions.runner import RunnerError

        engine = self.oc_app.engine
        completed = False
        try:
            if engine.session is None or self.transcript.session_id is None:
                if not await self.open_session():
                    return
            from opencode.sessions.shell_mode import shell_command

            # Typed in the prompt (not a custom command's or an MCP prompt's expansion): a
            # `!cmd` runs for the user, and @path mentions are attached.
            typed = bool(turn.pop("typed", False))
            command = shell_command(text) if typed else None
            if command is not None:
                await engine.shell(command)
            else:
                await engine.send(text, mentions=typed, **turn)  # a custom command's model/tools
            completed = self.status.state not in ("error", "interrupted")
            if engine.session is not None:
                self.status.title = engine.session.title
                self.status.cost = engine.session.cost
        except (RunnerError, ConfigError) as exc:
            self.show_output("turn", str(exc), failed=True)
            self.status.state = "error"
        except asyncio.CancelledError:
            self.status.state = "interrupted"
            raise
        except Exception as exc:  # an engine bug: say so in the transcript, keep the app
            self.show_output("turn", f"internal error: {type(exc).__name__}: {exc}", failed=True)
            self.status.state = "error"
            self.log.error("turn failed", exc)
        finally:
            self.running = False
            await engine.flush()
            # After this worker has returned: the next turn's worker is exclusive in "turn".
            self.call_later(self._turn_ended, completed)

    QUIT_AGAIN_S = 2.0

    def action_interrupt(self) -> None:
        """Ctrl+C: interrupt the running turn; with none, a second Ctrl+C quits (as in a shell
        and in other coding agents). Text selected in the prompt is copied instead."""
        import time

        if self.running:
            self.action_cancel_turn()
            return
        prompt = self.prompt
        if prompt.has_focus and prompt.selected_text:
            raise SkipAction()
        now = time.monotonic()
        if now - self._interrupt_at < self.QUIT_AGAIN_S:
            self.quit_app()
            return
        self._interrupt_at = now
        self.notify("Press Ctrl+C again (or Ctrl+Q) to quit.", timeout=self.QUIT_AGAIN_S)

    def _turn_ended(self, completed: bool) -> None:
        """Send the next queued message, or (the turn was cut short) hand the queue back to
        the prompt, above whatever is being typed there now."""
        queued = self.queued
        if not len(queued) or self.running:
            return
        if completed:
            text = queued.pop_first()
            if text:
                self.start_turn(text, typed=True)
            return
        prompt = self.prompt
        parts = [*queued.take_all(), prompt.text.strip()]
        prompt.load_text("\n\n".join(part for part in parts if part))
        prompt.move_cursor(prompt.document.end)

    def action_cancel_turn(self) -> None:
        if self.running:
            # Said at once: the runner's cleanup (the interrupted message saved) follows.
            self.status.state = "interrupted"
            self.workers.cancel_group(self, "turn")
        else:
            self.prompt.hide_suggestions()
            # Esc twice, with no turn running, opens the rewind picker (tui/screens/rewind.py).
            from opencode.tui.screens.rewind import double_escape

            if double_escape(self):
                self.run_worker(self.rewind_session(), group="slash", exit_on_error=False)

    # ------------------------------------------------------------------ keys

    def action_scroll_transcript(self, direction: int) -> None:
        """PageUp/PageDown scroll the conversation from the prompt (or the transcript); a
        panel that has focus keeps its own paging."""
        focused = self.focused
        if focused is not None and focused is not self.prompt and not self._in_transcript(focused):
            raise SkipAction()
        if direction < 0:
            self.transcript.scroll_page_up()
        else:
            self.transcript.scroll_page_down()

    def _in_transcript(self, widget: Widget) -> bool:
        transcript = self.transcript
        node: Any = widget
        while node is not None:
            if node is transcript:
                return True
            node = node.parent
        return False

    def on_key(self, event: events.Key) -> None:
        """Typing while something in the transcript has focus (a tool call, after a click or
        Tab) goes to the prompt: no keystroke is lost to a widget that cannot take text."""
        focused = self.focused
        if focused is None or not event.is_printable or event.character is None:
            return
        # With the prompt focused, a printable key bubbling here was not the prompt's (it
        # stops every key it types): it was queued, in a fast burst, to the tool call that had
        # focus before the burst's first key moved it. It belongs in the prompt, spaces too.
        if focused is not self.prompt and (
            event.key == "space"  # a tool call's own key: expand
            or not self._in_transcript(focused)
        ):
            return
        event.stop()
        event.prevent_default()
        prompt = self.prompt
        # Now, not deferred (``prompt.focus()``): keys already queued behind this one, a
        # space among them, must reach the prompt rather than the tool call.
        self.set_focus(prompt)
        prompt.insert(event.character)

    # ------------------------------------------------------------------ slash commands

    def show_output(
        self, line: str, text: str | None, tables: list[Any] | None = None, *, failed: bool = False
    ) -> None:
        self.transcript.add_output(CommandOutput(line, text, tables or [], failed=failed))

    async def run_slash(self, line: str) -> None:
        """Run a slash command of the registry: the chat's own (``surface="tui"``) or any
        other; parsed once, from the line as typed."""
        from opencode.commands.registry import REGISTRY, UsageError

        try:
            command, values = REGISTRY.parse_slash(line)
        except UsageError as exc:
            self.show_output(line, str(exc), failed=True)
            return
        await self.run_command(line, command, values)

    async def run_command(self, line: str, command: Command, values: dict[str, Any]) -> None:
        from opencode.commands.registry import run_command

        # The chat's own commands act on the screen (a picker, a cleared view); a line in the
        # transcript only if they have something to say.
        own = command.surface == "tui"
        output: CommandOutput | None = None
        if not own:
            output = CommandOutput(line, running=True)
            self.transcript.add_output(output)
        progress: list[str] = []

        def on_progress(text: str) -> None:
            progress.append(text)
            if output is not None:
                output.add_progress(text)

        ctx = self.oc_app.command_context(on_progress, chat=self)
        try:
            result = await run_command(ctx, command, values)
        except Exception as exc:  # a command bug must not take the app down
            failure = f"{command.name} failed: {type(exc).__name__}: {exc}"
            if output is None:
                self.show_output(line, failure, failed=True)
            else:
                output.set_result(failure, [], failed=True)
            # The transcript shows one line; the traceback is what a bug report needs.
            logger.error("command %r failed", line, exc_info=exc)
            self.log.error(f"command {line!r} failed\n{traceback.format_exc()}")
            return
        text = "\n".join([*progress, result.text or ""]).strip() or None
        if text is None and not result.tables and result.data is not None and not own:
            from opencode.commands.render import to_text

            text = to_text(result)
        failed = result.exit_code != 0
        if output is not None:
            output.set_result(text, result.tables, failed=failed)
        elif text or result.tables or failed:
            self.show_output(line, text, result.tables, failed=failed)
        if result.changed:
            self.post_message(DataChanged(result.changed))

    # ------------------------------------------------------------------ ChatActions
    # What the chat's own commands (opencode.tui.commands) do to this screen.

    async def new_session(self) -> None:
        """Start afresh; the session row is created with the first message, so opening and
        leaving leaves no empty sessions behind."""
        self.oc_app.engine.session = None
        await self.transcript.clear()
        self.transcript.session_id = None
        self.show_welcome()
        self.todos.show_todos([])
        status = self.status
        status.title, status.input_tokens, status.output_tokens, status.cost = "", 0, 0, 0.0
        status.state = "ready"

    async def clear_view(self) -> None:
        session_id = self.transcript.session_id
        await self.transcript.clear()
        self.transcript.session_id = session_id
        repo = self.oc_app.engine.repo
        if session_id is None or not await repo.count_messages(session_id):
            self.show_welcome()  # nothing said yet: the screen is not left blank

    def quit_app(self) -> None:
        self.app.exit(0)

    async def pick_session(self) -> None:
        import time

        from opencode.tui.screens.picker import PICKER_SESSIONS, PickerScreen

        engine = self.oc_app.engine
        # One query for the sessions and their message counts (not one count per session).
        records = await engine.repo.list_with_counts(engine.cwd, limit=PICKER_SESSIONS)
        width = max((len(_clip(r.title or "(untitled)", 99)) for r, _ in records), default=0)
        width = min(max(width, 12), 48)
        items = [
            (
                r.id,
                f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(r.updated_at))}  "
                f"{_clip(r.title or '(untitled)', width):<{width}}  {r.model}  "
                f"{count} msg{'s' if count != 1 else ''}",
            )
            for r, count in records
        ]

        async def picked(session_id: str | None) -> None:
            if session_id:
                await self.open_session(session_id=session_id)

        self.app.push_screen(
            PickerScreen("Resume a session", items, empty="No sessions in this directory yet."),
            picked,
        )

    async def pick_model(self) -> None:
        from opencode.commands.registry import REGISTRY
        from opencode.tui.screens.picker import PickerScreen

        config = self.oc_app.config
        items = []
        for name, provider in sorted(config.providers.items()):
            for model in provider.models:
                items.append((f"{name}/{model}", f"{name}/{model}  ({provider.api})"))
        current = self.oc_app.engine.model or config.model
        if current not in [value for value, _ in items]:
            items.insert(0, (current, f"{current}  (current)"))

        async def picked(model: str | None) -> None:
            if model:
                command, _ = REGISTRY.find(["model"])
                await self.run_command(f"/model {model}", command, {"ref": model})

        self.app.push_screen(
            PickerScreen("Pick a model (providers from opencode.toml)", items), picked
        )

    async def use_model(self, ref: str) -> None:
        self.oc_app.engine.model = ref
        self.status.model = ref
        for welcome in self.transcript.query(Welcome):
            welcome.set_model(ref)
        if not self.running and self.status.state == "error":
            self.status.state = "ready"  # the error was the old model's: try this one

    async def exportable_session(self) -> str | None:
        engine = self.oc_app.engine
        if engine.session is None:
            return None
        await engine.flush()
        return engine.session.id

    async def rewind_session(self) -> None:
        from opencode.tui.screens.rewind import open_rewind

        await open_rewind(self)

    async def fork_session(self) -> None:
        from opencode.tui.screens.rewind import fork_current

        await fork_current(self)

    async def recent_replies(self, count: int) -> list[str]:
        engine = self.oc_app.engine
        session_id = self.transcript.session_id
        if engine.session is None or session_id is None:
            return []
        found: list[str] = []
        before: str | None = None
        while len(found) < count:
            page = await engine.messages(session_id, limit=PAGE, before=before)
            found += [m.text() for m in reversed(page) if m.role == "assistant" and m.text()]
            if len(page) < PAGE:
                break
            before = page[0].id
        return found[:count]

    def copy_to_clipboard(self, text: str) -> None:
        self.app.copy_to_clipboard(text)

    # ------------------------------------------------------------------ panels

    def action_toggle_panel(self, domain: str) -> None:
        side = self.query_one("#side")
        switcher = self.query_one(ContentSwitcher)
        panel_id = PANELS[domain]
        if side.has_class("-visible") and switcher.current == panel_id:
            side.remove_class("-visible")
            self.prompt.focus()
            return
        panel = self.side_panel(domain)
        mounted = None
        if panel is None:  # first opened: composed now
            panel = panel_types()[domain](id=panel_id)
            mounted = switcher.mount(panel)
        switcher.current = panel_id
        side.add_class("-visible")
        self.run_worker(
            self._reload(panel, mounted),
            group=f"panel-{domain}",
            exclusive=True,
            exit_on_error=False,
        )

    def side_panel(self, domain: str) -> DataPanel | None:
        """The panel of ``domain`` if it has been opened (panels are mounted when first
        opened)."""
        panel_id = PANELS.get(domain)
        found = self.query(f"#{panel_id}") if panel_id is not None else None
        if not found:
            return None
        from opencode.tui.panels.base import DataPanel  # imported once a panel exists

        return found.first(DataPanel)

    async def _reload(self, panel: DataPanel, mounted: Awaitable[Any] | None = None) -> None:
        if mounted is not None:
            await mounted
        await panel.reload(self.oc_app.command_context(lambda line: None))

    def on_data_changed(self, event: DataChanged) -> None:
        for domain in event.domains:
            panel = self.side_panel(domain)
            if panel is None:
                continue  # never opened: it loads when it is
            if panel.loaded or panel.display:
                self.run_worker(
                    self._reload(panel),
                    group=f"panel-{domain}",
                    exclusive=True,
                    exit_on_error=False,
                )

    def action_toggle_todos(self) -> None:
        """Ctrl+T: show or hide the session's todo checklist above the prompt."""
        self.todos.toggle()

    async def action_new_session(self) -> None:
        await self.new_session()
