"""Import matching: items of one file never collapse into one row, and saving an item keeps
the done_at of criteria whose state did not change. Real SQLite through the commands."""

from __future__ import annotations

from pathlib import Path

from opencode.commands.backlog.repo import BacklogRepo
from opencode.commands.registry import CommandContext

from .conftest import Run

CLASH = """# Backlog - 2025-10-01

## 🚀 Ready for Implementation (High Priority)

### 1. Fix the parser
**Priority**: High

---

### 2. Fix the parser (Task-007)
**Priority**: Low

---
"""


async def test_a_keyless_and_a_keyed_item_with_one_title_are_both_imported(
    run: Run, tmp_path: Path
) -> None:
    path = tmp_path / "clash.md"
    path.write_text(CLASH, encoding="utf-8")
    result = await run("backlog", "import", str(path))
    assert (result.data["created"], result.data["updated"]) == (2, 0)
    listed = (await run("backlog", "list")).data
    assert [(i["key"], i["title"], i["priority_text"]) for i in listed] == [
        (None, "Fix the parser", "High"),
        ("Task-007", "Fix the parser", "Low"),
    ]
    warnings = [p for p in result.data["problems"] if p["severity"] == "warning"]
    assert [p["line"] for p in warnings] == [5]
    assert "same title as Task-007 at line 10" in warnings[0]["message"]
    assert "clash.md:5: warning:" in (result.text or "")

    # Re-importing the same file updates both rows in place and creates nothing.
    again = await run("backlog", "import", str(path))
    assert (again.data["created"], again.data["updated"]) == (0, 2)
    relisted = (await run("backlog", "list")).data
    assert [(i["id"], i["key"], i["priority_text"]) for i in relisted] == [
        (listed[0]["id"], None, "High"),
        (listed[1]["id"], "Task-007", "Low"),
    ]


async def test_a_stored_keyless_row_is_claimed_by_one_item_only(run: Run, tmp_path: Path) -> None:
    first = tmp_path / "first.md"
    first.write_text(CLASH.split("### 2.")[0], encoding="utf-8")
    assert (await run("backlog", "import", str(first))).data["created"] == 1
    both = tmp_path / "both.md"
    both.write_text(CLASH, encoding="utf-8")
    result = await run("backlog", "import", str(both))
    assert (result.data["created"], result.data["updated"]) == (1, 1)
    assert len((await run("backlog", "list")).data) == 2


async def test_save_keeps_done_at_of_criteria_whose_state_did_not_change(
    run: Run, ctx: CommandContext
) -> None:
    added = await run("backlog", "add", "Stream the reply", "--criterion", "a", "--criterion", "b")
    assert added.exit_code == 0, added.data
    repo = BacklogRepo(ctx.store)
    item = await repo.get("#1")
    assert item is not None and [c.text for c in item.criteria] == ["a", "b"]
    item.criteria[0].done = True
    await repo.save(item, now=100.0)
    item.criteria[1].done = True
    await repo.save(item, now=200.0)
    await repo.save(item, now=300.0)

    async def done_at() -> list[float | None]:
        rows = await ctx.store.fetchall(
            "SELECT done_at FROM backlog_criterion WHERE item_id = 1 ORDER BY seq"
        )
        return [r["done_at"] for r in rows]

    assert await done_at() == [100.0, 200.0]
    item.criteria[0].done = False
    await repo.save(item, now=400.0)
    assert await done_at() == [None, 200.0]
