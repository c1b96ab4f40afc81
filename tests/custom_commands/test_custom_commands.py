"""Custom slash commands: discovery and frontmatter, argument substitution, ``@file`` and
``!`cmd` `` (through the bash tool's permission rules), name clashes with built-ins, and
``opencode run "/name args"`` end to end against a loopback provider (a real subprocess)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opencode.commands.custom import find_custom, load_custom
from opencode.sessions.custom_commands import (
    CommandFileError,
    discover,
    parse_command_file,
    substitute_arguments,
)
from tests.engine.helpers import openai_text_chunks, opencode, query, write_config
from tests.support.stream_server import Reply, StreamServer


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    (project / ".opencode" / "commands").mkdir(parents=True)
    (project / "notes.txt").write_text("NOTE-CONTENT\n")
    return project


def command(project: Path, name: str, text: str, folder: str = ".opencode") -> Path:
    path = project / folder / "commands" / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_discovery_names_scopes_and_precedence(project: Path) -> None:
    global_dir = Path(os.environ["XDG_CONFIG_HOME"]) / "opencode" / "commands"
    global_dir.mkdir(parents=True)
    (global_dir / "hello.md").write_text("global hello\n")
    (global_dir / "only-global.md").write_text("g\n")
    command(project, "hello", "project hello\n")
    command(project, "git/commit", "commit it\n")
    command(project, "claude-style", "from .claude\n", folder=".claude")
    found = discover(project)
    assert found.problems == []
    assert set(found.commands) == {"hello", "only-global", "git:commit", "claude-style"}
    assert found.commands["hello"].body == "project hello\n", "project wins over global"
    assert found.commands["only-global"].scope == "global"


def test_frontmatter_fields_claude_style(project: Path) -> None:
    path = command(
        project,
        "review",
        "---\ndescription: Review a file\nmodel: mock/other\n"
        "allowed-tools: Bash(git diff:*), Read, LS\nargument-hint: [file]\n---\nReview $1\n",
    )
    parsed = parse_command_file(path, "review")
    assert parsed.description == "Review a file" and parsed.model == "mock/other"
    assert parsed.allowed_tools == ("Bash(git diff:*)", "Read", "LS")
    assert parsed.tools == ["bash", "read", "list"]
    assert parsed.argument_hint == "[file]" and parsed.body == "Review $1\n"


def test_block_list_frontmatter(project: Path) -> None:
    path = command(project, "x", "---\nallowed-tools:\n  - Read\n  - Grep\n---\nbody\n")
    assert parse_command_file(path, "x").tools == ["read", "grep"]


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("---\ndescription: ok\nthis line is wrong\n---\nbody\n", 3, "is not `key: value`"),
        ("---\ndescription: never closed\nbody\n", 1, "never closed"),
        ("---\nallowed-tools: [Read, Grep\n---\nbody\n", 2, "not closed with ]"),
    ],
)
def test_broken_frontmatter_names_the_file_and_line(
    project: Path, text: str, line: int, what: str
) -> None:
    path = command(project, "broken", text)
    with pytest.raises(CommandFileError) as caught:
        parse_command_file(path, "broken")
    assert str(caught.value).startswith(f"{path}:{line}: ") and what in str(caught.value)
    command(project, "fine", "still works\n")
    commands, warnings = load_custom(project)
    assert "fine" in commands and "broken" not in commands
    assert any(w.startswith(f"{path}:{line}:") for w in warnings)


def test_arguments_and_positionals() -> None:
    assert substitute_arguments("fix $1 then $2 ($ARGUMENTS)$3", 'a "b c"') == (
        'fix a then b c (a "b c")'
    )
    assert substitute_arguments("no placeholders", "x y") == "no placeholders\n\nARGUMENTS: x y"
    assert substitute_arguments("no placeholders", "") == "no placeholders"


def test_a_clash_with_a_builtin_is_reported_and_the_builtin_wins(project: Path) -> None:
    path = command(project, "session", "I would shadow session list\n")
    custom, _, warnings = find_custom("/session list", project)
    assert custom is None
    [warning] = [w for w in warnings if "session" in w]
    assert str(path) in warning and "built-in command /session" in warning
    assert "the built-in wins" in warning


# ------------------------------------------------------------------ end to end (subprocess)


def user_message(body: dict) -> str:  # type: ignore[type-arg]
    return str([m for m in body["messages"] if m["role"] == "user"][-1]["content"])


def test_run_slash_custom_command_sends_the_expansion(project: Path) -> None:
    command(
        project,
        "mycmd",
        "---\ndescription: demo\nallowed-tools: Read, Grep\nmodel: mock/other-model\n---\n"
        "Handle $1 (all: $ARGUMENTS).\nShell said: !`printf 'SHELL-%s' 42`\nSee @notes.txt\n",
    )
    with StreamServer([Reply(body=openai_text_chunks(["done"]))]) as server:
        write_config(project, "openai", server.url)
        run = opencode(project, "run", "/mycmd x y")
        assert run.code == 0, run.stderr
        [request] = server.requests
        body = request.json()
    assert user_message(body) == (
        "Handle x (all: x y).\nShell said: SHELL-42\nSee @notes.txt\n\n"
        "Contents of notes.txt:\n```\nNOTE-CONTENT\n```\n"
    )
    assert body["model"] == "other-model", "the command's model is used for the turn"
    assert sorted(t["function"]["name"] for t in body["tools"]) == ["grep", "read"]
    assert "done" in run.stdout


def test_a_denied_shell_expansion_sends_nothing(project: Path) -> None:
    command(project, "leak", "Here: !`cat ~/.ssh/id_rsa`\n")
    with StreamServer([Reply(body=openai_text_chunks(["no"]))]) as server:
        write_config(project, "openai", server.url, '[permission.bash]\n"cat *" = "deny"\n')
        run = opencode(project, "run", "--yes", "/leak")
        assert server.requests == []
    assert run.code == 3
    assert "/leak" in run.stderr and "denied by a permission rule" in run.stderr
    assert "nothing was sent" in run.stderr


def test_a_denied_file_include_sends_nothing(project: Path) -> None:
    command(project, "peek", "Look at @notes.txt\n")
    with StreamServer([Reply(body=openai_text_chunks(["no"]))]) as server:
        write_config(project, "openai", server.url, '[permission]\nread = "deny"\n')
        run = opencode(project, "run", "/peek")
        assert server.requests == []
    assert run.code == 3 and "@" in run.stderr and "denied" in run.stderr


def test_run_reports_broken_and_clashing_files_and_goes_on(project: Path) -> None:
    broken = command(project, "broken", "---\nnot valid\n---\nx\n")
    command(project, "session", "shadow\n")
    command(project, "ok", "OK-BODY\n")
    with StreamServer([Reply(body=openai_text_chunks(["fine"]))]) as server:
        write_config(project, "openai", server.url)
        run = opencode(project, "run", "/ok")
        assert run.code == 0, run.stderr
        assert user_message(server.requests[0].json()) == "OK-BODY\n"
    assert f"{broken}:2:" in run.stderr
    assert "built-in command /session" in run.stderr


def test_an_ask_shell_expansion_is_refused_headless_unless_allowed(project: Path) -> None:
    """Arithmetic expansion is syntax the bash checker cannot judge: it asks, and headless
    ``opencode run`` has nobody to ask; ``allowed-tools: Bash`` pre-approves it."""
    command(project, "calc", "Sum: !`echo $((40+2))`\n")
    command(project, "calc2", "---\nallowed-tools: Bash(echo:*)\n---\nSum: !`echo $((40+2))`\n")
    with StreamServer([Reply(body=openai_text_chunks(["ok"]))]) as server:
        write_config(project, "openai", server.url)
        refused = opencode(project, "run", "/calc")
        assert refused.code == 3 and "was not allowed" in refused.stderr
        assert server.requests == []
        allowed = opencode(project, "run", "/calc2")
        assert allowed.code == 0, allowed.stderr
        assert user_message(server.requests[0].json()) == "Sum: 42\n"


def test_shell_output_never_names_files_to_include(project: Path) -> None:
    """A path printed by ``!`cmd` `` stays text: only the command and its arguments name
    files, so a command's output cannot pull a file into the message."""
    command(project, "show", "Out: !`printf '@notes.txt'`\nArg file: $1\n")
    (project / "arg.txt").write_text("ARG-FILE\n")
    with StreamServer([Reply(body=openai_text_chunks(["ok"]))]) as server:
        write_config(project, "openai", server.url)
        run = opencode(project, "run", "/show @arg.txt")
        assert run.code == 0, run.stderr
        message = user_message(server.requests[0].json())
    assert "NOTE-CONTENT" not in message
    assert (
        message
        == "Out: @notes.txt\nArg file: @arg.txt\n\nContents of arg.txt:\n```\nARG-FILE\n```\n"
    )


def test_shell_output_and_included_files_are_scrubbed_of_secrets(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``!`cmd` `` output and ``@file`` contents are secret-scrubbed like tool results: an
    environment token a command prints, and the config's literal api_key in an included file,
    reach neither the provider nor the database."""
    token = "sk-live-0123456789abcdef"
    monkeypatch.setenv("MY_API_TOKEN", token)
    (project / "deploy.txt").write_text(f"token={token}\n")
    (project / "keys.txt").write_text("api_key = sk-test-SECRET-1234\n")
    command(project, "leak", "Env: !`env | grep MY_API_TOKEN; cat deploy.txt`\nSee @keys.txt\n")
    with StreamServer([Reply(body=openai_text_chunks(["ok"]))]) as server:
        write_config(project, "openai", server.url)
        run = opencode(project, "run", "/leak")
        assert run.code == 0, run.stderr
        message = user_message(server.requests[0].json())
    assert token not in message and "sk-test-SECRET-1234" not in message
    assert "token=[redacted MY_API_TOKEN]" in message
    assert "api_key = [redacted config]" in message
    stored = query("SELECT content FROM part WHERE kind = 'text'")
    assert stored, "the user message is stored"
    text = "\n".join(row["content"] for row in stored)
    assert "[redacted MY_API_TOKEN]" in text
    assert token not in text and "sk-test-SECRET-1234" not in text
