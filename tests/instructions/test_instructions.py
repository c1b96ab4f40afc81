"""Project instructions: AGENTS.md / CLAUDE.md from the git root down to cwd, the global file,
``@`` includes (relative, cycles, missing, depth), the size bound, and the system prompt a
real loopback provider receives."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from opencode.sessions.config import load_config
from opencode.sessions.engine import Engine
from opencode.sessions.instructions import (
    MAX_FILE_BYTES,
    MAX_INCLUDE_DEPTH,
    instruction_paths,
    load_instructions,
    new_warnings,
)
from opencode.sessions.permissions_api import PermissionAnswer, PermissionRequest
from tests.engine.helpers import openai_text_chunks, write_config
from tests.support.stream_server import Reply, StreamServer


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg" / "sub").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def global_file() -> Path:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "opencode" / "AGENTS.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_global_then_root_to_cwd_and_claude_md_only_where_no_agents_md(repo: Path) -> None:
    global_file().write_text("GLOBAL rule\n")
    (repo / "AGENTS.md").write_text("ROOT agents\n")
    (repo / "CLAUDE.md").write_text("ROOT claude (shadowed)\n")
    (repo / "pkg" / "CLAUDE.md").write_text("PKG claude\n")
    (repo / "pkg" / "sub" / "AGENTS.md").write_text("SUB agents\n")
    (repo.parent / "AGENTS.md").write_text("ABOVE the git root: not read\n")

    cwd = repo / "pkg" / "sub"
    assert instruction_paths(cwd) == [
        global_file(),
        repo / "AGENTS.md",
        repo / "pkg" / "CLAUDE.md",
        repo / "pkg" / "sub" / "AGENTS.md",
    ]
    text = load_instructions(cwd).text
    order = [text.index(s) for s in ("GLOBAL", "ROOT agents", "PKG claude", "SUB agents")]
    assert order == sorted(order)
    assert "shadowed" not in text and "ABOVE" not in text
    assert f"# Instructions from {repo / 'pkg' / 'CLAUDE.md'}" in text


def test_includes_are_relative_to_the_including_file_and_skip_code(repo: Path) -> None:
    (repo / "docs").mkdir()
    (repo / "docs" / "style.md").write_text("STYLE: tabs never; see @more.md\n")
    (repo / "docs" / "more.md").write_text("MORE detail\n")
    (repo / "AGENTS.md").write_text(
        "Follow @docs/style.md.\nMail me at a@b.com\n```\n@docs/nothere.md in a fence\n```\n"
        "`@docs/inline.md` is code\n"
    )
    loaded = load_instructions(repo)
    assert [f.path.name for f in loaded.files] == ["AGENTS.md", "style.md", "more.md"]
    assert loaded.files[1].included_by == repo / "AGENTS.md"
    assert "STYLE: tabs never" in loaded.text and "MORE detail" in loaded.text
    assert loaded.warnings == []


def test_a_cycle_is_refused_with_a_note_and_a_missing_include_is_a_note(repo: Path) -> None:
    (repo / "AGENTS.md").write_text("root includes @a.md and @missing/file.md\n")
    (repo / "a.md").write_text("A includes @b.md\n")
    (repo / "b.md").write_text("B includes @a.md and @AGENTS.md\n")
    loaded = load_instructions(repo)
    assert [f.path.name for f in loaded.files] == ["AGENTS.md", "a.md", "b.md"]
    assert "@a.md in " in loaded.text and "include cycle" in loaded.text
    assert f"no file at {repo / 'missing' / 'file.md'}" in loaded.text
    assert len(loaded.warnings) == 3  # two cycle notes (a.md, AGENTS.md) and the missing file


def test_include_depth_is_bounded(repo: Path) -> None:
    count = MAX_INCLUDE_DEPTH + 3
    (repo / "AGENTS.md").write_text("start @n0.md\n")
    for i in range(count):
        (repo / f"n{i}.md").write_text(f"level {i} @n{i + 1}.md\n")
    (repo / f"n{count}.md").write_text("bottom\n")
    loaded = load_instructions(repo)
    assert len(loaded.files) == MAX_INCLUDE_DEPTH + 1
    assert any("nest at most" in w for w in loaded.warnings)


@pytest.mark.fault
def test_a_5mb_agents_md_is_cut_with_a_note_and_warned_once(repo: Path) -> None:
    big = repo / "AGENTS.md"
    big.write_bytes(b"x" * (5 * 1024 * 1024))
    loaded = load_instructions(repo)
    assert loaded.files[0].truncated and loaded.files[0].size == 5 * 1024 * 1024
    assert len(loaded.text) < MAX_FILE_BYTES + 1000
    assert "5,242,880 bytes; only the first 65,536 were read" in loaded.text
    assert len(new_warnings(loaded)) == 1
    assert new_warnings(load_instructions(repo)) == [], "warned once per process"


async def allow(request: PermissionRequest) -> PermissionAnswer:
    return "allow_once"


async def test_the_provider_receives_the_instructions_after_an_explicit_system_prompt(
    repo: Path,
) -> None:
    global_file().write_text("GLOBAL-RULE-1\n")
    (repo / "AGENTS.md").write_text("PROJECT-RULE-2\n")
    with StreamServer([Reply(body=openai_text_chunks(["ok"]))]) as server:
        write_config(repo, "openai", server.url, 'system_prompt = "CONFIGURED-PROMPT"')
        engine = Engine(load_config(repo), repo)
        await engine.open(allow)
        try:
            await engine.start()
            result = await engine.send("hi")
        finally:
            await engine.close()
        assert result.finish == "stop"
        system = server.requests[0].json()["messages"][0]
        assert system["role"] == "system"
        content = system["content"]
        assert content.startswith("CONFIGURED-PROMPT")
        assert content.index("GLOBAL-RULE-1") < content.index("PROJECT-RULE-2")
