"""Slash-command output that is markdown renders as markdown (headings, lists, code); result
tables stay tables; plain output keeps its lines."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table as RichTable

from opencode.tui.widgets.command_output import CommandOutput, looks_like_markdown
from tests.tui.conftest import type_and_send, wait_for


def drawn(output: CommandOutput) -> str:
    console = Console(record=True, width=100, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(output.content)
    return console.export_text()


def test_what_counts_as_markdown() -> None:
    assert looks_like_markdown("# Title\n\nbody")
    assert looks_like_markdown("intro\n```python\nx = 1\n```\n")
    assert looks_like_markdown("- one\n- two\n")
    assert looks_like_markdown("| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert not looks_like_markdown("added #1 Task-001: Fix the parser")
    assert not looks_like_markdown("- only one dash line\nand text")
    assert not looks_like_markdown("line one\nline two\n")


async def test_markdown_output_renders_as_markdown_and_tables_stay_tables(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(110, 40)) as pilot:

        async def run(line: str) -> CommandOutput:
            count = len(app.chat.query(CommandOutput))
            await type_and_send(pilot, line)
            await wait_for(
                pilot,
                lambda: (
                    len(app.chat.query(CommandOutput)) > count
                    and not app.chat.query(CommandOutput).last().running
                ),
            )
            return app.chat.query(CommandOutput).last()

        added = await run("/backlog add Fix the parser --priority high")
        assert not added.is_markdown and "added #1" in drawn(added)
        exported = await run("/backlog export")
        assert exported.is_markdown
        text = drawn(exported)
        assert "Groomed Task Backlog" in text and "# Groomed" not in text
        assert "Priority: High" in text and "**Priority**" not in text
        assert "• " in text  # the statistics list drawn as a list
        listed = await run("/backlog list")
        assert listed.tables and any(isinstance(p, RichTable) for p in listed.content.renderables)
        assert "Fix the parser" in drawn(listed)


async def test_a_failure_stays_plain(make_app: Any) -> None:
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 30)) as pilot:
        app.chat.show_output("/x", "# not a heading\n- a\n- b", failed=True)
        await wait_for(pilot, lambda: app.chat.query(CommandOutput))
        output = app.chat.query(CommandOutput).last()
        assert not output.is_markdown and "# not a heading" in drawn(output)


async def test_markup_and_escapes_in_a_result_are_drawn_as_they_are(make_app: Any) -> None:
    """A table title with "[/]" stopped the app (a str title is markup to Rich); an ESC in
    output (a subprocess's, a stored title) went to the terminal."""
    from opencode.commands.registry import Table

    evil = "x [/] [bold red]R [link=https://e.x]l[/link] \x1b]2;PWN\x1b\\ \x1b[2J end"
    outputs = [
        CommandOutput("/x", evil, [Table(["a [/]", "b"], [[evil, "[/]"]], title="t [/] [b]")]),
        CommandOutput("/y", f"# H [/]\n\n- {evil}\n- two [b]\n\n```\n{evil}\n```\n"),
        CommandOutput("/z", evil, failed=True),
    ]
    app = make_app(open_session=False)
    async with app.run_test(size=(110, 40)) as pilot:
        await app.chat.transcript.mount_all(outputs)
        await pilot.pause()
        assert outputs[1].is_markdown and not outputs[0].is_markdown
        for output in outputs:
            lines = output.render_lines(output.region.reset_offset)
            text = "\n".join("".join(segment.text for segment in strip) for strip in lines)
            assert "\x1b" not in text, text
            assert "x [/] [bold red]R [link=https://e.x]l[/link] ␛]2;PWN␛\\ ␛[2J end" in text
        assert "t [/] [b]" in drawn(outputs[0]) and "H [/]" in drawn(outputs[1])
