"""Command results carry failure and output format as fields, not as text to parse back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opencode.commands.registry import (
    Command,
    CommandContext,
    CommandError,
    CommandFailure,
    CommandResult,
    Registry,
    run_command,
)
from opencode.commands.render import render, to_json, to_text
from tests.engine.helpers import openai_text_chunks, opencode, write_config
from tests.support.stream_server import Reply, StreamServer


async def _fail_with_hint(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    raise CommandError("no target 'web'", exit_code=2, hint="add it with `target add web`")


async def _report_format(ctx: CommandContext, args: dict[str, Any]) -> CommandResult:
    return CommandResult(data={"format": ctx.format, "args": sorted(args)})


def _registry() -> Registry:
    registry = Registry()
    registry._loaded = True
    registry.register(Command(("fail",), "fails", _fail_with_hint))
    registry.register(Command(("fmt",), "reports the format", _report_format))
    return registry


async def test_command_error_fills_the_typed_error_field(tmp_path: Path) -> None:
    command, values = _registry().parse(["fail"])
    ctx = CommandContext(store=None, config=None, cwd=tmp_path)  # type: ignore[arg-type]
    result = await run_command(ctx, command, values)
    assert result.error == CommandFailure("no target 'web'", "add it with `target add web`")
    assert result.exit_code == 2 and not result.ok
    assert json.loads(to_json(result)) == {
        "error": "no target 'web'",
        "hint": "add it with `target add web`",
    }
    assert to_text(result) == "error: no target 'web'\nhint: add it with `target add web`"


async def test_format_is_on_the_context_not_in_the_handler_args(tmp_path: Path) -> None:
    command, values = _registry().parse(["fmt"])
    ctx = CommandContext(store=None, config=None, cwd=tmp_path, format="json")  # type: ignore[arg-type]
    result = await run_command(ctx, command, values)
    assert result.data == {"format": "json", "args": []}


def test_a_failure_whose_message_has_no_error_prefix_still_renders_as_failure() -> None:
    # Renderers read ``error``: a message that happens to begin "error: " is not stripped,
    # and a success whose text begins "error: " is not a failure.
    failed = CommandResult.failure("error: twice", exit_code=3)
    assert failed.error is not None and failed.error.message == "error: twice"
    assert failed.exit_code == 3
    success = CommandResult(data={"line": "error: this is data"}, text="error: this is data")
    assert success.ok and success.error is None
    assert render(success, "markdown") == "error: this is data"
    assert json.loads(render(success, "json")) == {"line": "error: this is data"}


def test_cli_failure_goes_to_stderr_in_text_and_stdout_in_json(tmp_path: Path) -> None:
    text = opencode(tmp_path, "session", "show", "nosuchid")
    assert text.code == 1
    assert text.stdout == ""
    assert text.stderr.startswith("error: no session 'nosuchid'")
    as_json = opencode(tmp_path, "session", "show", "nosuchid", "--format", "json")
    assert as_json.code == 1
    assert json.loads(as_json.stdout)["error"].startswith("no session 'nosuchid'")


def test_export_to_a_file_follows_the_output_format(tmp_path: Path) -> None:
    with StreamServer([Reply(body=openai_text_chunks(["Filed reply"]))]) as server:
        write_config(tmp_path, "openai", server.url)
        assert opencode(tmp_path, "run", "file me").code == 0
    listed = opencode(tmp_path, "session", "list", "--format", "json")
    session_id = json.loads(listed.stdout)[0]["id"]
    out = opencode(tmp_path, "session", "export", session_id, "-o", "t.json", "--format", "json")
    assert out.code == 0, out.stderr
    assert json.loads(out.stdout)["path"] == str(tmp_path / "t.json")
    written = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert written["messages"][1]["parts"][0]["content"] == "Filed reply"
    md = opencode(tmp_path, "session", "export", session_id, "-o", "t.md")
    assert md.code == 0, md.stderr
    assert "Filed reply" in (tmp_path / "t.md").read_text(encoding="utf-8")
