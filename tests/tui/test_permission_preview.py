"""The permission modal shows what it approves: the diff of a write/edit (or why the edit would
fail), a new file's size and head, a bash command with the folder it runs in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from textual.geometry import Region
from textual.widgets import Button, Static

from opencode.tui.screens.permission import PermissionScreen
from tests.tui.conftest import wait_for


def shown(screen: PermissionScreen) -> str:
    console = Console(record=True, width=100, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(screen.query_one("#details", Static).content)
    return console.export_text()


async def open_modal(pilot: Any, tool: str, arguments: dict[str, Any]) -> PermissionScreen:
    app = pilot.app
    app.push_screen(PermissionScreen(tool, f"{tool} …", arguments))
    await wait_for(pilot, lambda: isinstance(app.screen, PermissionScreen))
    screen = app.screen
    assert isinstance(screen, PermissionScreen)
    await wait_for(pilot, lambda: screen.query("#details"))
    if tool in ("write", "edit"):
        await wait_for(pilot, lambda: screen.preview is not None)
        await pilot.pause()
    return screen


async def test_edit_shows_the_diff_it_will_apply(make_app: Any, project: Path) -> None:
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 32)) as pilot:
        args = {"path": "hello.txt", "old_string": "world", "new_string": "there"}
        screen = await open_modal(pilot, "edit", args)
        text = shown(screen)
        assert "-hello world" in text and "+hello there" in text and "+1 -1" in text
        assert screen.focused is not None and screen.focused.id == "allow_once"
    assert (project / "hello.txt").read_text() == "hello world\n"


async def test_edit_that_would_fail_says_so(make_app: Any) -> None:
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 32)) as pilot:
        args = {"path": "hello.txt", "old_string": "planet", "new_string": "there"}
        screen = await open_modal(pilot, "edit", args)
        text = shown(screen)
        assert "This call would fail" in text and "old_string not found in hello.txt" in text


async def test_write_of_a_new_file_and_an_overwrite(make_app: Any, project: Path) -> None:
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_modal(pilot, "write", {"path": "notes.md", "content": "# A\nb\n"})
        text = shown(screen)
        assert "new file, 2 lines" in text and "+# A" in text
        screen.dismiss("deny")
        await wait_for(pilot, lambda: not isinstance(app.screen, PermissionScreen))
        screen = await open_modal(pilot, "write", {"path": "hello.txt", "content": "bye\n"})
        text = shown(screen)
        assert "-hello world" in text and "+bye" in text
    assert not (project / "notes.md").exists()


async def test_bash_shows_the_command_and_the_working_directory(
    make_app: Any, project: Path
) -> None:
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_modal(pilot, "bash", {"command": "rm -rf build/ && make"})
        text = shown(screen)
        assert "rm -rf build/ && make" in text
        assert f"in {project}" in text or f"in ~/{project.relative_to(Path.home())}" in text


async def test_a_huge_diff_scrolls_and_the_buttons_still_fit(make_app: Any, project: Path) -> None:
    (project / "big.txt").write_text("".join(f"old {i}\n" for i in range(3000)))
    app = make_app(open_session=False)
    async with app.run_test(size=(60, 15)) as pilot:
        content = "".join(f"new {i}\n" for i in range(3000))
        screen = await open_modal(pilot, "write", {"path": "big.txt", "content": content})
        text = shown(screen)
        assert "-old 0" in text and "more lines" in text
        scroll = screen.query_one("#arguments")
        assert scroll.max_scroll_y > 0
        for button in screen.query(Button):
            assert screen.region.contains_region(button.region), button.id
            assert screen.get_widget_at(button.region.x + 1, button.region.y)[0] is button


async def test_control_characters_from_the_model_are_shown_not_sent(
    make_app: Any, project: Path
) -> None:
    """An ESC in a diff, a new file, a bash command or a path would reach the terminal (clear
    the screen under the modal, retitle the window, set the clipboard through OSC 52)."""
    evil = "\x1b]52;c;cm0gLXJmIH4=\x1b\\\x1b[2J\u202eok\x9b31m"
    (project / "old.txt").write_text(f"keep {evil}\n")
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 32)) as pilot:
        cases = [
            ("write", {"path": "old.txt", "content": f"new {evil}\n"}),
            ("write", {"path": f"n{evil}.txt", "content": f"{evil}\n"}),
            ("bash", {"command": f"echo '{evil}'"}),
            ("mcp_tool", {"text": evil}),
        ]
        for tool, arguments in cases:
            screen = await open_modal(pilot, tool, arguments)
            drawn = "\n".join(
                "".join(segment.text for segment in strip)
                for widget in (screen.query_one("#details"), screen.query_one("#subject"))
                for strip in widget.render_lines(widget.region.reset_offset)
            )
            for bad in ("\x1b", "\x9b", "\u202e"):
                assert bad not in drawn, (tool, drawn)
            assert "␛" in drawn or "\\u001b" in drawn, (tool, drawn)
            screen.dismiss("deny")
            await wait_for(pilot, lambda: not isinstance(app.screen, PermissionScreen))


async def test_the_diff_shows_a_file_only_where_reading_it_is_allowed(
    make_app: Any, project: Path, tmp_path: Path
) -> None:
    """The preview asks the engine's permissions: by default a link out of the project is not
    read; once reading the target is allowed for the session, it is diffed."""
    secret = tmp_path / "outside-secret.txt"
    secret.write_text("TOP-SECRET-CONTENT\n")
    (project / "link.txt").symlink_to(secret)
    args = {"path": "link.txt", "content": "replaced\n"}
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 32)) as pilot:
        text = shown(await open_modal(pilot, "write", args))
        words = " ".join(text.split())  # the long tmp path wraps the note at any word
        assert "TOP-SECRET" not in text and "is not shown" in words and "+replaced" in text
        app.screen.dismiss("deny")
        await wait_for(pilot, lambda: not isinstance(app.screen, PermissionScreen))
        app.engine.runner().permissions.grant_session("read", str(secret.resolve()))
        text = shown(await open_modal(pilot, "write", args))
        assert "-TOP-SECRET-CONTENT" in text and "+replaced" in text
    assert secret.read_text() == "TOP-SECRET-CONTENT\n"


async def test_the_end_of_a_long_command_is_in_view_and_the_keys_scroll_it(
    make_app: Any,
) -> None:
    """A 10 KB heredoc pushed `rm -rf ~/important` out of the modal at 60x15, and no key
    scrolled to it (the focus is on a button): approved blind."""
    body = "".join(f"echo line {i} with some padding text\n" for i in range(280))
    command = f"cat > /tmp/x.sh <<'EOF'\n{body}EOF\nrm -rf ~/important && bash /tmp/x.sh"
    assert len(command) > 10_000
    app = make_app(open_session=False)
    async with app.run_test(size=(60, 15)) as pilot:
        screen = await open_modal(pilot, "bash", {"command": command})
        await pilot.pause()
        scroll, details = screen.query_one("#arguments"), screen.query_one("#details")
        viewport = Region(0, 0, details.size.width, scroll.scrollable_content_region.height)
        visible_now = "\n".join(
            "".join(segment.text for segment in strip) for strip in details.render_lines(viewport)
        )
        assert "rm -rf ~/important && bash /tmp/x.sh" in visible_now, visible_now
        assert scroll.scroll_y == 0 and scroll.max_scroll_y > 0
        await pilot.press("end")
        assert scroll.scroll_y == scroll.max_scroll_y
        await pilot.press("pageup", "up")
        assert 0 < scroll.scroll_y < scroll.max_scroll_y
        await pilot.press("home")
        assert scroll.scroll_y == 0
        assert isinstance(app.screen, PermissionScreen)  # scrolling answers nothing


async def test_an_answer_typed_too_soon_is_ignored_with_a_word(make_app: Any) -> None:
    """A key pressed as the modal opened was ignored silently: someone pressing d again and
    again within the arming time saw nothing happen and did not know why."""
    app = make_app(open_session=False)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_modal(pilot, "bash", {"command": "make"})
        assert not screen.armed
        await pilot.press("d", "d")
        assert app.screen is screen  # not answered
        title = screen.query_one("#title", Static)
        assert str(title.content) == "Allow bash?  too soon: pause, then answer"
        await wait_for(pilot, lambda: screen.armed)
        await pilot.press("d")
        await wait_for(pilot, lambda: app.screen is not screen)
