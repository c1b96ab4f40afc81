"""The first screen of an empty chat: where, which model, whether it answers, which keys.

Shown while the transcript has no message (the chat screen mounts it and removes it when the
first message is sent). Whether the model answers is checked after the first frame
(``opencode.sessions.providers.probe``: the endpoint is asked for its model list, never sent
a prompt), so start-up never waits on the network; until then it reads "checking…". With no
config file and a model that cannot be reached (the default embedded model not installed), it
says so and what to do before the user types a message that could only fail.

The model name, the folder and the check's words can come from a project's opencode.toml or a
server's error: they are drawn with their control characters as symbols
(``opencode.tui.safe_text``), so a crafted model name cannot send escapes to the terminal.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from opencode.tui.safe_text import one_line, visible

if TYPE_CHECKING:
    from opencode.sessions.config import Config
    from opencode.sessions.providers.probe import Probe

KEYS = (
    ("Enter", "send"),
    ("Esc", "interrupt"),
    ("/", "commands"),
    ("Ctrl+C twice or Ctrl+Q", "quit"),
)
EXAMPLE_LOCAL = 'model = "ollama/llama3.2"'
EXAMPLE_HOSTED = 'model = "openai/gpt-4o-mini"'


def short_path(path: Path) -> str:
    """``path`` with the home folder written ``~`` (what people recognise, and shorter)."""
    home = Path.home()
    try:
        rest = path.relative_to(home)
    except ValueError:
        return str(path)
    return "~" if not rest.parts else f"~/{rest.as_posix()}"


class Welcome(Static):
    """What an empty chat shows; ``probe`` is None until the model has been checked."""

    DEFAULT_CSS = """
    Welcome {
        height: auto;
        margin: 1 0 0 0;
        padding: 0 1;
        border-left: outer $primary;
    }
    """

    def __init__(self, config: Config, cwd: Path, model: str) -> None:
        super().__init__("")
        self.config = config
        self.cwd = cwd
        self.model = model
        self.probe: Probe | None = None
        self.servers: list[str] = []  # local servers found running (no config only)
        self.update(self.render_text())

    @property
    def checked(self) -> bool:
        return self.probe is not None

    def on_mount(self) -> None:
        # After the first frame: the check may wait on a connect timeout.
        self.call_after_refresh(self._start_probe)

    def _start_probe(self) -> None:
        self.run_worker(
            self._run_probe(),
            group="welcome-probe",
            exclusive=True,
            exit_on_error=False,
            description="is the model reachable",
        )

    async def _run_probe(self) -> None:
        from opencode.sessions.providers.probe import loopback_servers, probe_model

        probe = await probe_model(self.config, self.model)
        if not probe.ok and not self.config.sources:
            self.servers = await loopback_servers(self.config)
        self.probe = probe
        self.update(self.render_text())

    def set_model(self, model: str) -> None:
        """The model changed (/model): check the new one."""
        self.model = model
        self.probe = None
        self.update(self.render_text())
        if self.is_mounted:
            self._start_probe()

    def render_text(self) -> Text:
        text = Text()
        text.append("opencode", style="bold")
        text.append("  ·  a coding agent in this folder\n", style="dim")
        text.append("\nfolder  ", style="dim")
        text.append(one_line(short_path(self.cwd)), style="bold")
        text.append("\nmodel   ", style="dim")
        text.append(one_line(self.model), style="bold magenta")
        text.append("  ")
        probe = self.probe
        if probe is None:
            text.append("checking…", style="dim")
        elif probe.ok:
            text.append(f"✓ {visible(probe.detail)}", style="bold green")
        else:
            if probe.warn:
                text.append("⚠ ", style="bold yellow")
                text.append(visible(probe.detail), style="yellow")
            else:
                text.append("✗ " if probe.answered else "✗ not reachable: ", style="bold red")
                text.append(visible(probe.detail), style="red")
            if probe.hint:
                text.append(f"\n        {visible(probe.hint)}", style="yellow")
        text.append("\nkeys    ", style="dim")
        for i, (key, what) in enumerate(KEYS):
            if i:
                text.append("  ·  ", style="dim")
            text.append(key, style="bold")
            text.append(f" {what}")
        if probe is not None and not probe.ok and not self.config.sources:
            text.append("\n\n")
            text.append_text(self._getting_started())
        return text

    def _getting_started(self) -> Text:
        from opencode.sessions.config import global_config_path

        text = Text()
        text.append("No configuration found", style="bold yellow")
        text.append(
            f" (no {short_path(self.cwd / 'opencode.toml')} nor "
            f"{short_path(global_config_path())}), and the default model does not work here.\n"
        )
        for name in self.servers:
            base = self.config.providers[name].base_url
            text.append(f"A {name} server is running at {base}: ", style="green")
            text.append(f"/model {name}/MODEL", style="bold")
            text.append(" uses it; ")
            text.append(f"opencode provider models {name}", style="bold")
            text.append(" lists its models.\n")
        text.append("To start, write ")
        text.append(short_path(self.cwd / "opencode.toml"), style="bold")
        text.append(" with one line, e.g.\n    ")
        text.append(EXAMPLE_LOCAL, style="bold cyan")
        text.append("      a local server (Ollama, LM Studio, llama.cpp, vLLM)\n    ")
        text.append(EXAMPLE_HOSTED, style="bold cyan")
        text.append("   with OPENAI_API_KEY set\n")
        text.append("then ")
        text.append("opencode provider models NAME", style="bold")
        text.append(" checks the server and lists its models, and ")
        text.append("opencode config explain", style="bold")
        text.append(" shows what was read.")
        return text
