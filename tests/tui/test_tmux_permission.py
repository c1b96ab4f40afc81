"""The approval modal in a real terminal: what the model put in a file is drawn, never executed
by the terminal (an ESC ]2; in a diff would retitle the window, ESC ]52; set the clipboard)."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from tests.engine.helpers import openai_sse
from tests.support.stream_server import Reply, StreamServer
from tests.tui.conftest import SSE, write_config
from tests.tui.test_tmux import Tmux, tmux  # noqa: F401 - the fixture

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def tool_call(name: str, arguments: dict[str, str]) -> Reply:
    call = {"index": 0, "id": "call_1", "type": "function"}
    call["function"] = {"name": name, "arguments": json.dumps(arguments)}  # type: ignore[assignment]
    chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "test-model",
        "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": "tool_calls"}],
    }
    return Reply(body=openai_sse(chunk), headers=SSE)


def start(term: Tmux, project: Path, tmp_path: Path, url: str, extra: str = "") -> None:
    config = write_config(project, url, extra)
    env = {
        "OPENCODE_CONFIG": str(config),
        "OPENCODE_DATA_DIR": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    term.send(
        f"cd {shlex.quote(str(project))} && {exports} "
        f"{shlex.quote(sys.executable)} -m opencode; echo OPENCODE_EXIT=$?",
        "Enter",
    )


def deny_when_armed(term: Tmux) -> None:
    """Press d until the modal takes it: it ignores keys until none came for ARMING_S."""
    for _ in range(20):
        term.send("d")
        try:
            term.wait_for("denied", limit=1.0)
        except AssertionError:
            continue
        return
    raise AssertionError(f"the modal never took d:\n{term.screen()}")


def test_escape_sequences_in_a_write_are_shown_not_run(
    tmux: Tmux,  # noqa: F811 - the fixture imported above
    project: Path,
    tmp_path: Path,
) -> None:
    content = "title \x1b]2;PWNED\x1b\\ clear \x1b[2J\x1b[H red \x1b[31mX\n"
    replies = [tool_call("write", {"path": "hello.txt", "content": content})]
    with StreamServer(replies) as server:
        start(tmux, project, tmp_path, server.url, '[permission]\nwrite = "ask"')
        tmux.wait_for("Ask anything")
        tmux.run("select-pane", "-t", tmux.name, "-T", "before")
        tmux.send("-l", "overwrite it")
        tmux.send("Enter")
        screen = tmux.wait_for("+title ␛]2;PWNED␛\\ clear ␛[2J␛[H red ␛[31mX")
        assert "Allow write?" in screen and "-hello world" in screen
        assert tmux.run("display", "-p", "-t", tmux.name, "#{pane_title}").strip() == "before"
        deny_when_armed(tmux)
        tmux.send("C-q")
        tmux.wait_for("OPENCODE_EXIT=0")
    assert (project / "hello.txt").read_text() == "hello world\n"
