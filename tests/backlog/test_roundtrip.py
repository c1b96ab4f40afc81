"""import -> export -> import keeps every field, through the real commands and SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opencode.commands.backlog.exporter import export_backlog
from opencode.commands.backlog.model import BacklogItem, Criterion
from opencode.commands.backlog.parser import parse_backlog
from opencode.commands.backlog.repo import BacklogRepo
from opencode.commands.registry import CommandContext
from opencode.sessions.store.db import Store

from .conftest import SEED, Run


def _fields(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    keep = (
        "key number title one_liner priority_text effort risk status source files blockers "
        "dependencies criteria evidence notes completed_on"
    ).split()
    return {i["key"] or i["title"]: {k: i[k] for k in keep} for i in items}


async def test_seed_round_trip_through_the_database(
    run: Run, ctx: CommandContext, tmp_path: Path
) -> None:
    imported = await run("backlog", "import", str(SEED))
    assert imported.exit_code == 0 and imported.data["created"] == 26
    # Change some state so the export has ticked criteria, evidence and a done item.
    assert (await run("backlog", "check", "Task-013", "3")).exit_code == 0
    done = await run("backlog", "done", "Task-012", "--evidence", "commit 1a2b3c4 extracts it")
    assert done.exit_code == 0
    before = _fields((await run("backlog", "list")).data)
    out = tmp_path / "export.md"
    assert (await run("backlog", "export", "--output", str(out))).exit_code == 0

    fresh = await Store.open(tmp_path / "fresh.sqlite")
    try:
        parsed = parse_backlog(out.read_text(encoding="utf-8"))
        assert parsed.problems == []
        created, _, _ = await BacklogRepo(fresh).import_items(parsed.items, parsed.planned_at)
        assert len(created) == 26
        after = _fields([i.to_dict() for i in await BacklogRepo(fresh).list_items()])
    finally:
        await fresh.close()
    assert after == before
    assert after["Task-013"]["criteria"][2] == {
        "text": "Memory usage constant regardless of response size",
        "done": True,
    }
    assert after["Task-012"]["status"] == "done"
    assert after["Task-012"]["evidence"] == ["commit 1a2b3c4 extracts it"]


async def test_reimport_updates_instead_of_duplicating(run: Run, tmp_path: Path) -> None:
    await run("backlog", "import", str(SEED))
    first = _fields((await run("backlog", "list")).data)
    ids = {i["key"] or i["title"]: i["id"] for i in (await run("backlog", "list")).data}
    again = await run("backlog", "import", str(SEED))
    assert (again.data["created"], again.data["updated"]) == (0, 26)
    listed = (await run("backlog", "list")).data
    assert len(listed) == 26
    assert {i["key"] or i["title"]: i["id"] for i in listed} == ids
    assert _fields(listed) == first
    # An edited file updates the stored item in place.
    edited = tmp_path / "edited.md"
    edited.write_text(
        SEED.read_text(encoding="utf-8").replace(
            "**Effort**: Small (30-45 minutes)", "**Effort**: Medium (2 hours)"
        ),
        encoding="utf-8",
    )
    await run("backlog", "import", str(edited))
    task12 = (await run("backlog", "show", "Task-012")).data
    assert task12["effort"] == "Medium (2 hours)" and task12["id"] == ids["Task-012"]


def test_rich_items_survive_export_in_every_status() -> None:
    items = [
        BacklogItem(
            title="Two blockers and evidence",
            key="Task-200",
            status="in_progress",
            priority="Critical (outage)",
            blockers=["after #7", "Task-013 must land"],
            evidence=["commit abc", "test tests/test_x.py"],
            criteria=[Criterion("a", True), Criterion("b")],
            notes="Line one\n\nLine two",
        ),
        BacklogItem(
            title="Archived with fields",
            key="Task-201",
            status="archived",
            group="Old work",
            effort="Small",
            completed_on="2025-01-02",
            notes="multi\nline",
        ),
        BacklogItem(title="Archived plain", status="archived", group="Old work", notes="tidy"),
        BacklogItem(title="Parked", status="deferred", number=4, details_summary="More"),
        BacklogItem(
            title="Finished",
            key="Task-202",
            status="done",
            completed_on="2025-03-04",
            evidence=["commit def"],
        ),
    ]
    text = export_backlog(items)
    parsed = parse_backlog(text)
    assert parsed.problems == []
    by_title = {i.title: i.fields() for i in parsed.items}
    assert by_title == {i.title: i.fields() for i in items}
    assert "- ~~Archived plain~~ ✅ - tidy" in text
    assert "### ~~Archived with fields~~ (Task-201)" in text


def test_notes_that_look_like_structure_survive_export() -> None:
    notes = (
        "## Not a section\n### Not an item\n---\n**Priority**: not a field\n"
        "  ## indented\n\\## already escaped\n<details>\n```\n## inside a fence\n```"
    )
    item = BacklogItem(title="Tricky notes", key="Task-300", notes=notes, criteria=[Criterion("c")])
    text = export_backlog([item])
    (back,) = parse_backlog(text).items
    assert back.fields() == item.fields()
