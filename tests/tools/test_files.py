"""read / write / edit on real files in a temp project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.sessions.tools.base import ToolContext, ToolResult
from opencode.sessions.tools.files import (
    MAX_LINE_CHARS,
    MAX_READ_BYTES,
    EditTool,
    ReadTool,
    WriteTool,
)
from opencode.sessions.tools.registry import execute
from tests.tools.conftest import Recorder


async def read(ctx: ToolContext, **args: Any) -> ToolResult:
    return await execute(ReadTool(), args, ctx)


async def write(ctx: ToolContext, **args: Any) -> ToolResult:
    return await execute(WriteTool(), args, ctx)


async def edit(ctx: ToolContext, **args: Any) -> ToolResult:
    return await execute(EditTool(), args, ctx)


def ten_lines(project: Path) -> Path:
    path = project / "ten.txt"
    path.write_text("".join(f"line {i}\n" for i in range(1, 11)))
    return path


# ---------------------------------------------------------------------------- read


async def test_read_numbers_every_line_and_says_what_it_showed(
    ctx: ToolContext, project: Path
) -> None:
    ten_lines(project)
    result = await read(ctx, path="ten.txt")
    assert not result.is_error
    lines = result.output.splitlines()
    assert lines[0] == "    1\tline 1"
    assert lines[9] == "   10\tline 10"
    assert lines[-1] == "(showing lines 1-10 of 10)"
    assert result.metadata["total_lines"] == 10


async def test_read_range_with_offset_and_limit_points_at_the_rest(
    ctx: ToolContext, project: Path
) -> None:
    ten_lines(project)
    result = await read(ctx, path="ten.txt", offset=3, limit=2)
    assert result.output == (
        "    3\tline 3\n    4\tline 4\n\n"
        "(showing lines 3-4 of 10); more lines: read again with offset=5"
    )


async def test_read_last_lines_and_offset_past_the_end(ctx: ToolContext, project: Path) -> None:
    ten_lines(project)
    tail = await read(ctx, path="ten.txt", offset=9)
    assert tail.output.splitlines()[:2] == ["    9\tline 9", "   10\tline 10"]
    assert tail.output.endswith("(showing lines 9-10 of 10)")
    past = await read(ctx, path="ten.txt", offset=11)
    assert past.is_error
    assert "offset 11 is past the end of ten.txt, which has 10 lines" in past.output


async def test_read_cuts_long_lines(ctx: ToolContext, project: Path) -> None:
    (project / "long.txt").write_text("x" * 5000 + "\nshort\n")
    result = await read(ctx, path="long.txt")
    first = result.output.splitlines()[0]
    assert first.startswith("    1\t" + "x" * MAX_LINE_CHARS + "…")
    assert "[line cut, 5000 chars]" in first
    assert "x" * (MAX_LINE_CHARS + 1) not in first
    assert result.output.splitlines()[1] == "    2\tshort"


async def test_read_refuses_binary_files(ctx: ToolContext, project: Path) -> None:
    (project / "blob.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    result = await read(ctx, path="blob.bin")
    assert result.is_error
    assert result.output.startswith("blob.bin is a binary file (")
    assert "text files only" in result.output


async def test_read_accepts_utf8_text(ctx: ToolContext, project: Path) -> None:
    (project / "u.txt").write_text("naïve café – ✓\n", encoding="utf-8")
    result = await read(ctx, path="u.txt")
    assert result.output.splitlines()[0] == "    1\tnaïve café – ✓"


async def test_read_missing_file_names_the_path_and_suggests_tools(
    ctx: ToolContext, project: Path
) -> None:
    (project / "hello.txt").write_text("hi\n")
    result = await read(ctx, path="helo.txt")
    assert result.is_error
    assert result.output.startswith("file not found: helo.txt.")
    assert "Did you mean: hello.txt?" in result.output
    assert "`list`" in result.output and "`glob`" in result.output


async def test_read_directory_and_empty_file(ctx: ToolContext, project: Path) -> None:
    (project / "sub").mkdir()
    as_dir = await read(ctx, path="sub")
    assert as_dir.is_error and "sub is a directory" in as_dir.output and "`list`" in as_dir.output
    (project / "empty.txt").write_text("")
    empty = await read(ctx, path="empty.txt")
    assert not empty.is_error and empty.output == "empty.txt is empty (0 lines)"


async def test_read_absolute_path(ctx: ToolContext, project: Path) -> None:
    path = ten_lines(project)
    result = await read(ctx, path=str(path), limit=1)
    assert result.output.startswith("    1\tline 1\n")


def test_permission_subjects_for_paths(project: Path, tmp_path: Path) -> None:
    tool = ReadTool()
    inside = tool.permission_subject({"path": "src/a.py"}, project)
    assert inside.subject == "src/a.py" and inside.default is None
    outside = tool.permission_subject({"path": "../other.txt"}, project)
    assert outside.subject == str(tmp_path / "other.txt") and outside.default == "ask"
    assert tool.permission_subject({"path": ".env"}, project).default == "ask"
    assert tool.permission_subject({"path": "cfg/.env.local"}, project).default == "ask"
    assert tool.permission_subject({"path": ".env.example"}, project).default is None
    # Sensitive paths are one rule for reads and writes (issue 9): writing .env changes what
    # the next dotenv-loading command runs with, so it asks too; other new files do not.
    assert WriteTool().permission_subject({"path": ".env"}, project).default == "ask"
    assert WriteTool().permission_subject({"path": "notes.txt"}, project).default is None
    assert EditTool().permission_subject({"path": "/etc/hosts"}, project).default == "ask"


def test_symlink_out_of_the_project_counts_as_outside(project: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s\n")
    (project / "link.txt").symlink_to(tmp_path / "secret.txt")
    subject = ReadTool().permission_subject({"path": "link.txt"}, project)
    assert subject.default == "ask" and subject.subject == str(tmp_path / "secret.txt")


# ---------------------------------------------------------------------------- write


async def test_write_creates_file_and_parents_recording_no_before_image(
    ctx: ToolContext, project: Path, recorder: Recorder
) -> None:
    result = await write(ctx, path="new/dir/a.py", content="print('hi')\n")
    target = project / "new" / "dir" / "a.py"
    assert not result.is_error
    assert target.read_text() == "print('hi')\n"
    assert recorder.changes == [(target, None, None)]
    assert result.metadata["created"] is True
    assert "+print('hi')" in result.metadata["diff"]
    assert result.output.startswith("Created new/dir/a.py (1 lines")


async def test_write_overwrite_records_old_bytes_before_writing(
    ctx: ToolContext, project: Path, recorder: Recorder
) -> None:
    target = project / "a.txt"
    target.write_bytes(b"old line\n")
    result = await write(ctx, path="a.txt", content="new line\n")
    assert target.read_bytes() == b"new line\n"
    # The recorder saw the old bytes, and the file still held them when it was called.
    assert recorder.changes == [(target, b"old line\n", b"old line\n")]
    assert result.metadata["created"] is False
    diff = result.metadata["diff"]
    assert "--- a/a.txt" in diff and "-old line" in diff and "+new line" in diff
    assert result.output.startswith("Wrote a.txt")


async def test_write_refuses_a_directory(
    ctx: ToolContext, project: Path, recorder: Recorder
) -> None:
    (project / "d").mkdir()
    result = await write(ctx, path="d", content="x")
    assert result.is_error and "d is a directory" in result.output
    assert recorder.changes == []


# ---------------------------------------------------------------------------- edit


async def test_edit_replaces_a_unique_match(
    ctx: ToolContext, project: Path, recorder: Recorder
) -> None:
    target = project / "hello.txt"
    target.write_text("hello world\nbye\n")
    result = await edit(ctx, path="hello.txt", old_string="world", new_string="there")
    assert not result.is_error, result.output
    assert target.read_text() == "hello there\nbye\n"
    assert recorder.changes == [(target, b"hello world\nbye\n", b"hello world\nbye\n")]
    assert "-hello world" in result.metadata["diff"] and "+hello there" in result.metadata["diff"]
    assert result.metadata["replacements"] == 1
    assert result.output.startswith("Edited hello.txt: replaced 1 occurrence (first at line 1")


async def test_edit_missing_match_is_refused_and_file_untouched(
    ctx: ToolContext, project: Path, recorder: Recorder
) -> None:
    target = project / "a.txt"
    target.write_text("    indented\n")
    result = await edit(ctx, path="a.txt", old_string="  indented\n  x", new_string="y")
    assert result.is_error
    assert result.output == (
        "old_string not found in a.txt; read the file first and copy the exact text, "
        "whitespace included"
    )
    assert target.read_text() == "    indented\n"
    assert recorder.changes == []


async def test_edit_non_unique_match_is_refused_and_file_untouched(
    ctx: ToolContext, project: Path, recorder: Recorder
) -> None:
    target = project / "a.txt"
    target.write_text("x = 1\nx = 1\nx = 1\n")
    result = await edit(ctx, path="a.txt", old_string="x = 1", new_string="x = 2")
    assert result.is_error
    assert result.output == (
        "old_string occurs 3 times in a.txt; include more surrounding lines to make it "
        "unique, or pass replace_all"
    )
    assert target.read_text() == "x = 1\nx = 1\nx = 1\n"
    assert recorder.changes == []


async def test_edit_replace_all(ctx: ToolContext, project: Path, recorder: Recorder) -> None:
    target = project / "a.txt"
    target.write_text("x = 1\ny\nx = 1\n")
    result = await edit(ctx, path="a.txt", old_string="x = 1", new_string="x = 2", replace_all=True)
    assert not result.is_error
    assert target.read_text() == "x = 2\ny\nx = 2\n"
    assert result.metadata["replacements"] == 2
    assert len(recorder.changes) == 1


async def test_edit_keeps_crlf_line_endings(ctx: ToolContext, project: Path) -> None:
    target = project / "win.txt"
    target.write_bytes(b"one\r\ntwo\r\nthree\r\n")
    result = await edit(ctx, path="win.txt", old_string="one\ntwo", new_string="1\n2")
    assert not result.is_error, result.output
    assert target.read_bytes() == b"1\r\n2\r\nthree\r\n"


async def test_edit_refusals_missing_file_empty_and_identical(
    ctx: ToolContext, project: Path, recorder: Recorder
) -> None:
    missing = await edit(ctx, path="nope.txt", old_string="a", new_string="b")
    assert missing.is_error and missing.output.startswith("file not found: nope.txt.")
    (project / "a.txt").write_text("a\n")
    empty = await edit(ctx, path="a.txt", old_string="", new_string="b")
    assert empty.is_error and "old_string is empty; use `write`" in empty.output
    same = await edit(ctx, path="a.txt", old_string="a", new_string="a")
    assert same.is_error and "identical" in same.output
    (project / "b.bin").write_bytes(b"\x00\x01a")
    binary = await edit(ctx, path="b.bin", old_string="a", new_string="b")
    assert binary.is_error and "binary file" in binary.output
    assert recorder.changes == []
    assert (project / "a.txt").read_text() == "a\n"


async def test_read_caps_output_size_and_says_where_to_go_on(
    ctx: ToolContext, project: Path
) -> None:
    (project / "wide.txt").write_text("".join(f"{i:04} " + "w" * 95 + "\n" for i in range(1, 1001)))
    result = await read(ctx, path="wide.txt")
    last = result.metadata["last_line"]
    assert 400 < last < 1000
    assert len(result.output) <= MAX_READ_BYTES + 200
    assert result.output.endswith(
        f"(showing lines 1-{last} of 1000); more lines (output size limit): "
        f"read again with offset={last + 1}"
    )
    more = await read(ctx, path="wide.txt", offset=last + 1, limit=1)
    assert more.output.startswith(f"{last + 1:>5}\t{last + 1:04} ")
