"""The permission prompt: a modal asking whether a tool call may run.

Keys: ``a`` allow once, ``d`` or Esc deny; Tab/arrows move between the buttons and Enter
presses one. Allowing for the whole session has no one-letter key: it takes moving to its
button and pressing it. Dismisses with the ``PermissionAnswer`` string; the runner persists the
decision with the session.

The modal opens while the user may still be typing into the prompt: keys already on their way
(and any typed while the modal is new) must not answer it. It is armed only once no key has
arrived for ``ARMING_S``; an answer before that is ignored and restarts the wait.

What is approved is shown, not only named: ``write`` and ``edit`` show the diff they would
apply (``opencode.sessions.tools.preview``, computed off the event loop after the modal is up;
an edit that would fail says so), ``bash`` the command highlighted as shell and the folder it
runs in; other tools their arguments as JSON. The current content of a file is shown only where
the ``read`` permission would allow reading it without asking (``_may_read``): approving a write
to ``.env`` or through a symlink to ``~/.ssh/id_rsa`` must not display that file.

Everything drawn here comes from the model: control characters (an ESC would reach the terminal
and could clear the screen under this modal, retitle it, set the clipboard) and bidi overrides
are shown as visible symbols (``opencode.tui.safe_text``), never passed through.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from opencode.sessions.tools.preview import PREVIEWED_TOOLS, ChangePreview, preview_change
from opencode.tui.safe_text import one_line, visible
from opencode.tui.screens.armed import ArmedModal
from opencode.tui.widgets.welcome import short_path

LONG_COMMAND_LINES = 8  # a bash command past this shows its last TAIL_LINES first
LONG_COMMAND_CHARS = 600  # ...and so does one past this many characters
TAIL_LINES = 3
TAIL_CHARS = 240
MAX_DIFF_LINES = 2000  # drawn in the modal; the diff itself is already cut at 64 KB


def diff_text(diff: str) -> Text:
    """A unified diff coloured as in a terminal: + green, - red, hunks cyan."""
    text = Text(no_wrap=False)
    lines = diff.splitlines()
    for line in lines[:MAX_DIFF_LINES]:
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        else:
            style = ""
        text.append(visible(line) + "\n", style=style)
    if len(lines) > MAX_DIFF_LINES:
        text.append(f"… {len(lines) - MAX_DIFF_LINES} more lines\n", style="dim")
    return text


def render_preview(preview: ChangePreview) -> RenderableType:
    """What the modal shows of a write/edit: the diff, a new file's head, or why neither."""
    if preview.error is not None:
        return Text.assemble(
            ("This call would fail: ", "bold red"), (visible(preview.error), "red"), style=""
        )
    parts: list[RenderableType] = []
    if preview.new_file:
        parts.append(Text(f"new file, {preview.lines} lines", style="bold green"))
    elif preview.diff:
        parts.append(Text(f"+{preview.additions} -{preview.deletions}", style="bold"))
    if preview.note:
        parts.append(Text(visible(preview.note), style="yellow"))
    if preview.diff:
        parts.append(diff_text(preview.diff))
    elif preview.head:
        lines = preview.head.splitlines()
        head = Text("\n".join(f"+{visible(line)}" for line in lines), style="green")
        parts.append(head)
        if preview.lines > len(preview.head.splitlines()):
            more = preview.lines - len(preview.head.splitlines())
            parts.append(Text(f"… {more} more lines", style="dim"))
    elif not preview.note:
        parts.append(Text("no change to the file", style="dim"))
    return Group(*parts)


def _shell(command: str) -> Syntax:
    return Syntax(
        visible(command), "bash", theme="monokai", word_wrap=True, background_color="default"
    )


class PermissionScreen(ArmedModal[str]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    SAFE_BUTTON = "allow_once"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "answer('allow_once')", "Allow once"),
        Binding("d", "answer('deny')", "Deny"),
        Binding("escape", "answer('deny')", "Deny", show=False),
        Binding("left", "app.focus_previous", show=False),
        Binding("right", "app.focus_next", show=False),
        # The focus sits on a button; what is approved scrolls from there (a long command's
        # end, where `rm -rf ~` can hide after a heredoc, was out of reach of the keyboard).
        Binding("up", "scroll_details('up')", show=False),
        Binding("down", "scroll_details('down')", show=False),
        Binding("pageup", "scroll_details('page_up')", show=False),
        Binding("pagedown", "scroll_details('page_down')", show=False),
        Binding("home", "scroll_details('home')", show=False),
        Binding("end", "scroll_details('end')", show=False),
    ]

    def __init__(
        self, tool: str, subject: str, arguments: dict[str, Any], cwd: Path | None = None
    ) -> None:
        super().__init__()
        self.tool = tool
        self.subject = subject
        self.arguments = arguments
        self._cwd = cwd
        self.preview: ChangePreview | None = None  # set once computed (write/edit)
        self._told_unarmed = False

    @property
    def cwd(self) -> Path:
        """The folder the call runs in: given, else the hosting app's, else the process's."""
        if self._cwd is None:
            app_cwd = getattr(self.app, "cwd", None)
            self._cwd = app_cwd if isinstance(app_cwd, Path) else Path.cwd()
        return self._cwd

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self._title(), id="title")
            subject = Static(Text(one_line(self.subject)), id="subject")
            # bash: the subject is the command, shown highlighted just below.
            subject.display = not (
                self.tool == "bash" and self.subject.strip() == self._command().strip()
            )
            yield subject
            with VerticalScroll(id="arguments"):
                yield Static(self._details(), id="details")
            with Horizontal(id="buttons"):
                yield Button("Allow once (a)", id="allow_once", variant="primary")
                yield Button("Allow for session", id="allow_session", variant="success")
                yield Button("Deny (d)", id="deny", variant="error")

    def _title(self) -> Text:
        title = Text()
        title.append("Allow ", style="bold")
        title.append(one_line(self.tool), style="bold magenta")
        title.append("?", style="bold")
        return title

    def _command(self) -> str:
        command = self.arguments.get("command")
        return command if isinstance(command, str) else ""

    def _details(self) -> RenderableType:
        if self.tool in PREVIEWED_TOOLS:
            return Text("computing the change…", style="dim")
        if self.tool == "bash" and self._command():
            where = Text.assemble(("in ", "dim"), (short_path(self.cwd), "bold"))
            timeout = self.arguments.get("timeout")
            if isinstance(timeout, int | float) and not isinstance(timeout, bool):
                where.append(f"  ·  timeout {timeout:g} s", style="dim")
            text = self._command()
            command = _shell(text)
            lines = text.splitlines()
            if len(lines) <= LONG_COMMAND_LINES and len(text) <= LONG_COMMAND_CHARS:
                return Group(command, where)
            # What a long command ends with is what scrolls out of view: shown first.
            size = f"{len(lines)} lines" if len(lines) > 1 else f"{len(text):,} characters"
            head = Text(f"{size} (↑↓ PgUp PgDn End scroll) · ends with:", style="bold yellow")
            end = "\n".join(lines[-TAIL_LINES:])
            if len(end) > TAIL_CHARS:
                end = "…" + end[-TAIL_CHARS:]
            tail = _shell(end)
            return Group(head, tail, where, Text("─" * 20, style="dim"), command)
        return Syntax(
            # json escapes C0 controls itself; C1 and bidi characters pass with ensure_ascii off.
            visible(json.dumps(self.arguments, indent=2, ensure_ascii=False)),
            "json",
            theme="monokai",
            word_wrap=True,
            background_color="default",
        )

    def on_mount(self) -> None:
        # ArmedModal.on_mount (focus, arming) runs too: Textual calls each class's handler.
        if self.tool in PREVIEWED_TOOLS:
            self._load_preview()

    @work(group="preview", exclusive=True, exit_on_error=False)
    async def _load_preview(self) -> None:
        config = getattr(self.app, "config", None)
        secrets = config.literal_secrets() if config is not None else ()
        details = self.query_one("#details", Static)
        try:
            preview = await preview_change(
                self.tool, self.arguments, self.cwd, secrets, self._may_read()
            )
        except Exception as exc:  # a preview bug must not leave the modal saying "computing"
            why = visible(f"{type(exc).__name__}: {exc}")
            details.update(Text(f"cannot preview the change: {why}"))
            return
        if preview is None:
            return
        self.preview = preview
        details.update(render_preview(preview))

    def _may_read(self) -> Callable[[Path], bool] | None:
        """Whether the ``read`` tool may read a resolved path without asking, by the running
        engine's permissions (rules, --yes, session grants); None: the preview's default."""
        engine = getattr(self.app, "engine", None)
        runner = getattr(engine, "runner", None)
        if runner is None:
            return None
        try:
            policy = runner().permissions
        except Exception:  # no open engine (a test app): the preview's own default
            return None
        from opencode.sessions.tools.paths import path_subject

        cwd = self.cwd

        def may_read(path: Path) -> bool:
            decision: str = policy.decide("read", path_subject(str(path), cwd))
            return decision == "allow"

        return may_read

    COMPACT_BELOW = (72, 26)  # width, height under which the dialog fills the screen

    def on_resize(self, event: events.Resize) -> None:
        width, height = self.COMPACT_BELOW
        self.set_class(event.size.width < width or event.size.height < height, "-compact")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id and self._deliberate():
            self.dismiss(event.button.id)

    def _deliberate(self) -> bool:
        if super()._deliberate():
            return True
        # The answer was ignored (typed too soon after the modal opened, or mid-typing): say so
        # on the title line (a new line would move the buttons under the pointer, a toast
        # covers them). Someone pressing d again and again was ignored without a word.
        if not self._told_unarmed:
            self._told_unarmed = True
            title = self._title()
            title.append("  too soon: pause, then answer", style="bold yellow")
            self.query_one("#title", Static).update(title)
        return False

    def enter_hint(self) -> None:
        # On the title line, as "too soon" is: a toast would cover the buttons.
        title = self._title()
        title.append("  a: allow once · d: deny · or Tab to a button, then Enter", style="bold")
        self.query_one("#title", Static).update(title)

    def action_scroll_details(self, how: str) -> None:
        scroll = self.query_one("#arguments", VerticalScroll)
        getattr(scroll, f"scroll_{how}")(animate=False)

    def action_answer(self, answer: str) -> None:
        if self._deliberate():
            self.dismiss(answer)
