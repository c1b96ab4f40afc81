"""MCP prompts as slash commands: ``opencode run "/SERVER:PROMPT args"`` against the in-repo
fault server (a real stdio MCP server) and a loopback provider; the TUI's registration."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.commands.mcp.slash import parse, prompt_arguments
from opencode.commands.registry import CommandError
from opencode.tui.commands import register_mcp_prompts, slash_entries
from tests.engine.helpers import openai_text_chunks, opencode, write_config
from tests.mcp.helpers import fault_argv, toml_server
from tests.support.stream_server import Reply, StreamServer


def user_text(server: StreamServer, index: int = 0) -> str:
    messages = server.requests[index].json()["messages"]
    return str([m for m in messages if m["role"] == "user"][-1]["content"])


def test_run_sends_the_expanded_prompt_as_the_message(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    replies = [Reply(body=openai_text_chunks(["reviewed"])) for _ in range(2)]
    with StreamServer(replies) as server:
        write_config(project, "openai", server.url, toml_server("fault", fault_argv()))
        run = opencode(project, "run", "/fault:review the parser")
        assert run.code == 0, run.stderr
        assert run.stdout.strip() == "reviewed"
        assert "Please review the parser carefully." in user_text(server)
        by_name = opencode(project, "run", '/fault:review "topic=the lexer"')
        assert by_name.code == 0, by_name.stderr
        assert "Please review the lexer carefully." in user_text(server, 1)


def test_run_reports_a_missing_argument_or_prompt_and_sends_nothing(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    with StreamServer([]) as server:
        write_config(project, "openai", server.url, toml_server("fault", fault_argv()))
        missing = opencode(project, "run", "/fault:review")
        assert missing.code == 2 and "/fault:review needs topic" in missing.stderr
        unknown = opencode(project, "run", "/fault:nope x")
        assert unknown.code == 2 and "has no prompt 'nope'; it has: review" in unknown.stderr
        assert server.requests == []
    # Not a server name: the line is left to the other slash commands.
    other = opencode(project, "run", "/nosuch:thing")
    assert other.code == 2 and "unknown command" in other.stderr


def test_arguments_by_name_by_position_and_rest_of_line() -> None:
    two = [("topic", True), ("tone", False)]
    assert prompt_arguments(two, ["tone=dry", "topic=x y"], "/s:p") == {
        "topic": "x y",
        "tone": "dry",
    }
    assert prompt_arguments(two, ["a", "b", "c"], "/s:p") == {"topic": "a", "tone": "b c"}
    assert prompt_arguments([("topic", True)], ["x=1", "more"], "/s:p") == {"topic": "x=1 more"}
    with pytest.raises(CommandError, match="takes no arguments"):
        prompt_arguments([], ["x"], "/s:p")
    call = parse('/srv:do  "a b" c')
    assert call is not None and call.words == ("a b", "c")
    assert parse("/sync status") is None and parse("plain text") is None


def test_tui_registers_prompts_for_completion() -> None:
    assert register_mcp_prompts([("/zz:review", "Ask for a review", ["topic"])]) == 1
    assert register_mcp_prompts([("/zz:review", "Ask for a review", ["topic"])]) == 0
    assert ("/zz:review", "Ask for a review topic=...") in slash_entries()
