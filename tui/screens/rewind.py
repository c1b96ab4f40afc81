"""/rewind and /fork in the chat.

/rewind opens a picker of the session's steps (each user message with the files its turn
changed, and under it the tool calls that changed files, with timestamps). Enter rewinds
files and conversation to just before the step, ``c`` files only, ``t`` the conversation
only; the transcript is then reloaded and what was done (skips included) is shown. Esc
twice in the chat (no turn running) opens the same picker. When the conversation went back to
before a message of the user's, that message is put back in the prompt to edit and send
again (as in Claude Code); the rewound turns stay stored (``session show ID --all``), and what
was being typed stays too, below it. /fork starts a copy of the current session and switches
to it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from opencode.tui.safe_text import one_line

if TYPE_CHECKING:
    from opencode.sessions.rewind.steps import Step
    from opencode.tui.screens.chat import ChatScreen

Choice = tuple[str, str]  # (step id, "both" | "code" | "chat")
DOUBLE_ESCAPE_S = 0.5
_last_escape: dict[int, float] = {}


def double_escape(chat: object) -> bool:
    """True on the second Esc within ``DOUBLE_ESCAPE_S`` (per chat screen)."""
    now = time.monotonic()
    previous = _last_escape.get(id(chat), 0.0)
    if now - previous <= DOUBLE_ESCAPE_S:
        _last_escape.pop(id(chat), None)
        return True
    _last_escape[id(chat)] = now
    return False


def step_label(step: Step) -> str:
    when = time.strftime("%m-%d %H:%M:%S", time.localtime(step.created_at))
    text = " ".join(step.text.split())
    if step.kind == "user":
        text = text if len(text) <= 50 else text[:49] + "…"
        count = len(step.files)
        files = f"  ({count} file{'s' if count != 1 else ''} changed)" if count else ""
        return f"{when}  › {text}{files}"
    text = text if len(text) <= 40 else text[:39] + "…"
    shown = ", ".join(step.files[:3]) + (f" +{len(step.files) - 3}" if len(step.files) > 3 else "")
    return f"{when}      {text}  → {shown}"


class RewindScreen(ModalScreen[Choice | None]):
    CSS_PATH = Path(__file__).with_name("picker.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("c", "pick('code')", "Files only"),
        Binding("t", "pick('chat')", "Conversation only"),
    ]

    def __init__(self, steps: list[Step]) -> None:
        super().__init__()
        self.steps = steps

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static("Rewind to just before…", id="picker-title")
            if self.steps:
                yield OptionList(
                    *[Option(Content(one_line(step_label(s))), id=s.id) for s in self.steps],
                    id="options",
                )
            else:
                yield Static("Nothing to rewind in this session yet.", id="picker-empty")
            yield Static(
                "Enter files + conversation · c files only · t conversation only · Esc cancel"
                " · a message comes back to the prompt to edit and resend",
                id="picker-help",
            )

    def on_mount(self) -> None:
        if self.steps:
            options = self.query_one(OptionList)
            options.highlighted = len(self.steps) - 1

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.dismiss((event.option.id, "both"))

    def action_pick(self, mode: str) -> None:
        if not self.steps:
            return
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return
        option = options.get_option_at_index(options.highlighted)
        if option.id:
            self.dismiss((option.id, mode))

    def action_cancel(self) -> None:
        self.dismiss(None)


async def open_rewind(chat: ChatScreen) -> None:
    from opencode.sessions.rewind.steps import rewind_steps

    engine = chat.oc_app.engine
    if chat.running:
        chat.show_output("/rewind", "A turn is running; press Esc to cancel it first.", failed=True)
        return
    if engine.session is None:
        chat.show_output("/rewind", "Nothing to rewind: no session yet.", failed=True)
        return
    await engine.flush()
    session = engine.session
    steps = await rewind_steps(engine.store, session.id, Path(session.cwd))

    async def picked(choice: Choice | None) -> None:
        if choice is None:
            return
        step = next((s for s in steps if s.id == choice[0]), None)
        if await rewind_to(chat, choice[0], choice[1]) and step is not None:
            if step.kind == "user":
                edit_again(chat, step.text)

    chat.app.push_screen(RewindScreen(steps), picked)


def edit_again(chat: ChatScreen, text: str) -> None:
    """Put a rewound message back in the prompt, ready to edit and send from that point;
    anything already typed there stays, after it."""
    prompt = chat.prompt
    typed = prompt.text.strip()
    prompt.load_text(f"{text}\n\n{typed}" if typed and typed != text.strip() else text)
    prompt.move_cursor(prompt.document.end)
    prompt.focus()


async def rewind_to(chat: ChatScreen, target: str, mode: str) -> bool:
    """Rewind the current session (through the engine's bus, so its writer writes the marks)
    and reload the transcript. True when messages left the conversation."""
    from opencode.sessions.rewind.actions import rewind
    from opencode.sessions.rewind.restore import RewindError, summary

    engine = chat.oc_app.engine
    if engine.session is None:
        return False
    session_id = engine.session.id
    try:
        record, plan = await rewind(
            engine.store,
            session_id,
            target,
            code=mode in ("both", "code"),
            chat=mode in ("both", "chat"),
            emit=engine.bus.emit,
        )
    except RewindError as exc:
        chat.show_output("/rewind", str(exc), failed=True)
        return False
    await chat.open_session(session_id=session_id)
    chat.show_output("/rewind", summary(plan, Path(record.cwd), dry_run=False))
    return bool(plan.messages)


async def fork_current(chat: ChatScreen) -> None:
    from opencode.sessions.rewind.actions import fork
    from opencode.sessions.rewind.restore import RewindError

    engine = chat.oc_app.engine
    if chat.running:
        chat.show_output("/fork", "A turn is running; press Esc to cancel it first.", failed=True)
        return
    if engine.session is None:
        chat.show_output("/fork", "Nothing to fork: no session yet.", failed=True)
        return
    await engine.flush()
    source = engine.session.id
    try:
        forked = await fork(engine.store, source, emit=engine.bus.emit)
    except RewindError as exc:
        chat.show_output("/fork", str(exc), failed=True)
        return
    if await chat.open_session(session_id=forked.id):
        chat.show_output(
            "/fork",
            f"Now in {forked.id} ({forked.title}). The original {source} is unchanged; "
            "/sessions switches back.",
        )
