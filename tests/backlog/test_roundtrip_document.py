"""import -> export gives the imported file back (free-form sections, the plan date, bullet
lists), an edit re-renders only that item's lines, and what cannot come back is reported."""

from __future__ import annotations

import calendar
import difflib
import subprocess
import sys
from pathlib import Path

from opencode.commands.backlog.parser import parse_backlog, repair_mojibake
from opencode.commands.backlog.repo import BacklogRepo
from opencode.sessions.store.db import Store

from .conftest import MALFORMED, SEED, Run

PLAN_DATE = float(calendar.timegm((2025, 9, 20, 0, 0, 0, 0, 0, 0)))


def _normalised(path: Path) -> str:
    """The file as the importer reads it: UTF-8, mojibake repaired, LF line endings."""
    raw = path.read_bytes().decode("utf-8").replace("\r\n", "\n")
    return repair_mojibake(raw) or raw


async def test_seed_export_is_the_seed(run: Run, tmp_path: Path) -> None:
    assert (await run("backlog", "import", str(SEED))).exit_code == 0
    out = tmp_path / "export.md"
    result = await run("backlog", "export", "--output", str(out), "--check")
    assert result.exit_code == 0 and result.data["differences"] == []
    text = out.read_text(encoding="utf-8")
    assert text == _normalised(SEED)
    for kept in (
        "# Groomed Task Backlog - 2025-09-20",
        "## 📊 Sync Integration Summary",
        "Production Readiness Assessment",
        "Context Network Health",
        "Sync-Specific Actions",
    ):
        assert kept in text


async def test_malformed_fixture_comes_back_and_its_bad_lines_are_reported(
    run: Run, tmp_path: Path
) -> None:
    await run("backlog", "import", str(MALFORMED))
    out = tmp_path / "export.md"
    result = await run("backlog", "export", "--output", str(out), "--check")
    assert out.read_text(encoding="utf-8") == _normalised(MALFORMED)
    # the lines that never imported are written as they were, and said so (exit 1 on --check)
    assert result.exit_code == 1
    assert any("unbalanced ~~" in d for d in result.data["differences"])
    assert "not reproducible" in (result.text or "")


async def test_crlf_file_comes_back_with_lf(run: Run, tmp_path: Path) -> None:
    crlf = tmp_path / "crlf.md"
    crlf.write_bytes(SEED.read_bytes().replace(b"\n", b"\r\n"))
    await run("backlog", "import", str(crlf))
    out = tmp_path / "export.md"
    await run("backlog", "export", "--output", str(out))
    assert out.read_text(encoding="utf-8") == _normalised(SEED)


async def test_reimporting_an_export_keeps_the_plan_date(run: Run, tmp_path: Path) -> None:
    await run("backlog", "import", str(SEED))
    for flags in ((), ("--fresh",)):
        out = tmp_path / f"export{len(flags)}.md"
        assert (await run("backlog", "export", "--output", str(out), *flags)).exit_code == 0
        parsed = parse_backlog(out.read_text(encoding="utf-8"))
        assert parsed.planned_at == PLAN_DATE
        fresh = await Store.open(tmp_path / f"fresh{len(flags)}.sqlite")
        try:
            await BacklogRepo(fresh).import_items(parsed.items, parsed.planned_at)
            stored = await BacklogRepo(fresh).list_items()
        finally:
            await fresh.close()
        assert {i.planned_at for i in stored} == {PLAN_DATE}


def _item_span(lines: list[str], key: str) -> range:
    start = next(i for i, line in enumerate(lines) if line.startswith("### ") and key in line)
    end = next(
        i
        for i in range(start + 1, len(lines))
        if lines[i] in ("---",) or lines[i].startswith("## ")
    )
    return range(start, end)


async def test_an_edit_changes_only_that_items_lines(run: Run, tmp_path: Path) -> None:
    await run("backlog", "import", str(SEED))
    assert (await run("backlog", "done", "Task-012", "--evidence", "commit 1a2b3c4")).exit_code == 0
    assert (await run("backlog", "check", "Task-013", "3")).exit_code == 0
    out = tmp_path / "export.md"
    result = await run("backlog", "export", "--output", str(out), "--check")
    assert result.exit_code == 0, result.data["differences"]
    before = _normalised(SEED).split("\n")
    after = out.read_text(encoding="utf-8").split("\n")
    allowed = set(_item_span(before, "(Task-012)")) | set(_item_span(before, "(Task-013)"))
    changed = [
        (tag, i1, i2)
        for tag, i1, i2, _, _ in difflib.SequenceMatcher(a=before, b=after).get_opcodes()
        if tag != "equal"
    ]
    assert changed
    for tag, i1, i2 in changed:
        # an insert goes after line i1 - 1, which must be one of the item's own lines
        touched = set(range(i1, i2)) if i2 > i1 else {i1 - 1}
        assert touched <= allowed, (tag, i1, i2)
    # only the lines that say something new: a ticked box, Completed/Status/Evidence
    added = [
        line
        for tag, _, _, j1, j2 in difflib.SequenceMatcher(a=before, b=after).get_opcodes()
        if tag != "equal"
        for line in after[j1:j2]
    ]
    assert len(added) == 5, added
    text = "\n".join(after)
    assert "- [x] Memory usage constant regardless of response size" in text
    assert "**Status**: done" in text and "- commit 1a2b3c4" in text
    back = {i.key: i for i in parse_backlog(text).items}
    assert back["Task-012"].status == "done"
    assert back["Task-012"].evidence == ["commit 1a2b3c4"]


async def test_a_rewritten_item_is_rendered_in_place(run: Run, tmp_path: Path) -> None:
    await run("backlog", "import", str(SEED))
    # a new notes text cannot be patched line by line: the item is written anew, in place
    assert (await run("backlog", "update", "Task-012", "--file", "src/x.rs")).exit_code == 0
    out = tmp_path / "export.md"
    assert (await run("backlog", "export", "--output", str(out), "--check")).exit_code == 0
    before = _normalised(SEED).split("\n")
    after = out.read_text(encoding="utf-8").split("\n")
    span = _item_span(before, "(Task-012)")
    assert before[: span.start] == after[: span.start]
    tail = len(before) - span.stop
    assert before[span.stop :] == after[len(after) - tail :]
    back = {i.key: i for i in parse_backlog("\n".join(after)).items}
    assert back["Task-012"].files == ["src/x.rs"]


async def test_added_item_goes_into_its_section(run: Run, tmp_path: Path) -> None:
    await run("backlog", "import", str(SEED))
    added = await run("backlog", "add", "Brand", "new", "task", "--key", "Task-900")
    assert added.exit_code == 0
    out = tmp_path / "export.md"
    result = await run("backlog", "export", "--output", str(out), "--check")
    assert result.exit_code == 0, result.data["differences"]
    text = out.read_text(encoding="utf-8")
    assert "### Brand new task (Task-900)" in text
    back = {i.key: i for i in parse_backlog(text).items}
    assert back["Task-900"].status == added.data["status"]
    assert text.startswith("# Groomed Task Backlog - 2025-09-20\n")


async def test_field_that_cannot_come_back_is_reported(run: Run, tmp_path: Path) -> None:
    await run("backlog", "import", str(SEED))
    # a heading's ~~ marks strike-through, so they do not read back: the export must say so
    updated = await run("backlog", "update", "Task-012", "--title", "Drop ~~old~~ code")
    assert updated.exit_code == 0
    out = tmp_path / "export.md"
    result = await run("backlog", "export", "--output", str(out), "--check")
    assert result.exit_code == 1
    assert any(d.startswith("Task-012") for d in result.data["differences"])
    plain = await run("backlog", "export", "--output", str(out))
    assert plain.exit_code == 0 and "warning: not reproducible: Task-012" in (plain.text or "")


async def test_one_line_items_that_outgrow_their_line_move_to_their_section(
    run: Run, tmp_path: Path
) -> None:
    await run("backlog", "import", str(SEED))
    assert (await run("backlog", "update", "Task-007", "--status", "ready")).exit_code == 0
    assert (await run("backlog", "done", "Task-009", "--evidence", "commit 9")).exit_code == 0
    out = tmp_path / "export.md"
    result = await run("backlog", "export", "--output", str(out), "--check")
    assert result.exit_code == 0, result.data["differences"]
    text = out.read_text(encoding="utf-8")
    assert "~~**Task-007**" not in text and "### Implement real HTTP streaming (Task-007)" in text
    assert "## ✅ Done" in text  # the seed has no Done section: one is added at the end
    back = {i.key: i for i in parse_backlog(text).items}
    assert (back["Task-007"].status, back["Task-009"].status) == ("ready", "done")
    # everything else is still the seed, line for line
    kept = set(_normalised(SEED).split("\n"))
    assert "## 📊 Sync Integration Summary" in kept and kept - set(text.split("\n")) == {
        "- ~~**Task-007**: Implement real HTTP streaming~~ ✅ - **COMPLETED** 2025-09-19 with "
        "production implementation",
        "- **Task-009**: Replace test console output ← **Medium Priority (deferred)**",
    }


def test_shell_export_to_stdout_is_the_seed_and_warnings_go_to_stderr(tmp_path: Path) -> None:
    def opencode(*words: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "opencode.commands.cli", *words],
            cwd=tmp_path,
            capture_output=True,
            timeout=60,
        )

    assert opencode("backlog", "import", str(MALFORMED)).returncode == 0
    exported = opencode("backlog", "export")
    assert exported.returncode == 0
    assert exported.stdout.decode("utf-8").rstrip("\n") == _normalised(MALFORMED).rstrip("\n")
    assert b"not reproducible" in exported.stderr and b"not reproducible" not in exported.stdout
    assert opencode("backlog", "export", "--check").returncode == 1
