"""The ``+N -M`` of a write/edit (tool result and approval preview) count the whole change,
also when the diff shown is cut at ``MAX_DIFF_CHARS``."""

from __future__ import annotations

from pathlib import Path

from opencode.sessions.tools.base import ToolContext
from opencode.sessions.tools.files import MAX_DIFF_CHARS, EditTool, WriteTool
from opencode.sessions.tools.preview import preview_change_sync

LINES = 5000  # 5,000 changed lines of ~30 chars: a diff of ~300 KB, far past the cut


async def _record(path: Path, before: bytes | None) -> None:
    return None


def _text(tag: str) -> str:
    return "".join(f"{tag} line number {i:05d} of the file\n" for i in range(LINES))


async def test_a_rewrite_larger_than_the_diff_cut_counts_every_line(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text(_text("old"))
    args = {"path": "big.txt", "content": _text("new")}
    preview = preview_change_sync("write", args, tmp_path)
    assert preview is not None and preview.error is None
    assert "diff truncated" in preview.diff and len(preview.diff) < MAX_DIFF_CHARS + 200
    assert (preview.additions, preview.deletions) == (LINES, LINES)
    result = await WriteTool().run(args, ToolContext(tmp_path, "ses_1", "call_1", _record))
    assert f"+{LINES} -{LINES}" in result.output, result.output
    assert "diff truncated" in result.metadata["diff"]


async def test_an_edit_with_a_large_diff_counts_every_line(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("start\n" + _text("old"))
    args = {"path": "big.txt", "old_string": _text("old"), "new_string": _text("new")}
    preview = preview_change_sync("edit", args, tmp_path)
    assert preview is not None and preview.error is None
    assert (preview.additions, preview.deletions) == (LINES, LINES)
    result = await EditTool().run(args, ToolContext(tmp_path, "ses_1", "call_1", _record))
    assert f"+{LINES} -{LINES}" in result.output, result.output


async def test_content_lines_that_look_like_diff_headers_are_counted(tmp_path: Path) -> None:
    """A line "++x" is "+++x" in the diff, "--y" is "---y": content, not file headers."""
    (tmp_path / "m.txt").write_text("keep\n--y\n")
    args = {"path": "m.txt", "content": "keep\n++x\n"}
    preview = preview_change_sync("write", args, tmp_path)
    assert preview is not None and (preview.additions, preview.deletions) == (1, 1)
    result = await WriteTool().run(args, ToolContext(tmp_path, "ses_1", "call_1", _record))
    assert "+1 -1" in result.output, result.output
