"""Backlog commands in-process through the registry, on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from opencode.commands.registry import REGISTRY

from .conftest import SEED, Run


async def test_list_filters_and_ids_by_number_or_key(run: Run) -> None:
    await run("backlog", "import", str(SEED))
    high = (await run("backlog", "list", "--priority", "high")).data
    assert [i["key"] or i["title"] for i in high] == [
        "Task-013",
        "Task-006",
        "Improve Validation Error Handling with Error Chaining",
        "Agent Implementation MVP Architecture Planning",
        "Implement Fallback Provider Pattern",
    ]
    opened = (await run("backlog", "list", "--status", "open")).data
    assert len(opened) == 10
    by_id = (await run("backlog", "show", str(high[0]["id"]))).data
    by_key = (await run("backlog", "show", "task-013")).data
    assert by_id == by_key and by_key["title"] == "Optimize Streaming Memory Usage"
    # The same command through the chat's slash form.
    command, values = REGISTRY.parse_slash("/backlog list --status ready_soon")
    assert command.name == "backlog list" and values["status"] == "ready_soon"


async def test_add_update_check_done(run: Run) -> None:
    await run("backlog", "import", str(SEED))
    added = await run(
        "backlog", "add", "Write", "the", "docs", "--priority", "high (users ask)",
        "--effort", "Small (1 hour)", "--criterion", "README", "--criterion", "CLI help",
        "--file", "`README.md`", "--blocker", "after Task-013",
    )  # fmt: skip
    assert added.exit_code == 0 and added.changed == frozenset({"backlog"})
    item = added.data
    assert (item["key"], item["title"], item["priority"], item["priority_text"]) == (
        "Task-014",
        "Write the docs",
        "high",
        "High (users ask)",
    )
    assert item["status"] == "ready" and item["blockers"] == ["after Task-013"]

    updated = await run("backlog", "update", "Task-014", "--status", "ready_soon", "--risk", "Low")
    assert updated.data["status"] == "ready_soon" and updated.data["risk"] == "Low"
    refused = await run("backlog", "update", "Task-014", "--status", "done")
    assert refused.exit_code == 1 and "without evidence" in refused.data["error"]
    nothing = await run("backlog", "update", "Task-014")
    assert nothing.exit_code == 2

    ticked = await run("backlog", "check", "Task-014", "2")
    assert [c["done"] for c in ticked.data["criteria"]] == [False, True]
    assert (await run("backlog", "check", "Task-014", "3")).exit_code == 2
    unticked = await run("backlog", "check", "Task-014", "2", "--undo")
    assert [c["done"] for c in unticked.data["criteria"]] == [False, False]

    done = await run("backlog", "done", "Task-014", "--evidence", "commit 9f8e7d6 adds README")
    assert done.data["status"] == "done" and done.data["completed_on"]
    assert done.data["evidence"] == ["commit 9f8e7d6 adds README"]
    assert "2 acceptance criteria are not ticked" in (done.text or "")
    dup = await run("backlog", "add", "Other", "--key", "Task-014")
    assert dup.exit_code == 1 and "already used" in dup.data["error"]
    bad_key = await run("backlog", "add", "Other", "--key", "nope")
    assert bad_key.exit_code == 2


async def test_groom_orders_by_priority_blockers_and_effort(run: Run) -> None:
    await run("backlog", "import", str(SEED))
    groomed = await run("backlog", "groom")
    sequence = groomed.data["sequence"]
    assert [s["key"] or s["title"] for s in sequence] == [
        "Task-006",  # ready, high, 1-2 hours
        "Task-013",  # ready, high, 4-6 hours
        "Task-012",  # ready, medium
        "Improve Validation Error Handling with Error Chaining",  # "in parallel": no blocker
        "Add Configuration Validation for Validator Settings",
        "Task-008",
        "Implement Fallback Provider Pattern",  # high, after Task-013
        "Extract Common HTTP Request Logic (Ollama Provider)",  # after #2 (Task-012)
        "Implement Model Caching System (Ollama Provider)",  # after the HTTP logic extraction
        "Agent Implementation MVP Architecture Planning",
    ]
    blocked = {s["title"]: [b["key"] or b["title"] for b in s["blocked_by"]] for s in sequence}
    assert blocked["Implement Fallback Provider Pattern"] == ["Task-013"]
    assert blocked["Extract Common HTTP Request Logic (Ollama Provider)"] == ["Task-012"]
    assert blocked["Implement Model Caching System (Ollama Provider)"] == [
        "Extract Common HTTP Request Logic (Ollama Provider)"
    ]
    stats = groomed.data["statistics"]
    assert (stats["ready"], stats["ready_soon"], stats["needs_decision"]) == (3, 3, 1)
    assert (stats["optimization"], stats["archived"], stats["deferred"]) == (3, 10, 6)
    assert (stats["active"], stats["blocked"], stats["total"]) == (10, 3, 26)
    text = groomed.text or ""
    assert "## Summary Statistics\n- **Total tasks reviewed**: 26" in text
    assert "## Implementation Sequence Recommendation" in text
    assert "**Phase 1: Ready for Implementation**" in text
    assert "7. **Implement Fallback Provider Pattern** → 6-8 hours, High (after Task-013)" in text
    # Once its blocker is done, an item is no longer held back.
    await run("backlog", "done", "Task-013", "--evidence", "commit abc")
    again = (await run("backlog", "groom")).data
    fallback = next(s for s in again["sequence"] if s["title"].startswith("Implement Fallback"))
    assert fallback["blocked_by"] == []
    assert [b["state"] for b in fallback["blockers"]] == ["resolved"]


async def test_import_reports_malformed_lines_and_keeps_the_rest(run: Run) -> None:
    from .conftest import MALFORMED

    result = await run("backlog", "import", str(MALFORMED))
    assert result.exit_code == 0
    assert result.data["created"] == 3
    lines = [(p["line"], p["severity"]) for p in result.data["problems"]]
    assert (14, "error") in lines and (43, "error") in lines and (10, "warning") in lines
    assert "malformed.md:20: error: item 'Bad Status' skipped" in (result.text or "")
    strict = await run("backlog", "import", str(MALFORMED), "--strict")
    assert strict.exit_code == 1 and strict.data["created"] == 0
    missing = await run("backlog", "import", "nope.md")
    assert missing.exit_code == 1 and "does not exist" in missing.data["error"]


async def test_reimport_reports_a_status_the_file_overrides(run: Run) -> None:
    await run("backlog", "import", str(SEED))
    await run("backlog", "done", "Task-013", "--evidence", "commit abc")
    again = await run("backlog", "import", str(SEED))
    assert again.data["status_changes"] == [
        {"id": 1, "key": "Task-013", "from": "done", "to": "ready"}
    ]
    assert "status of Task-013 changed: done -> ready" in (again.text or "")
    # The evidence recorded in the database survives the re-import.
    assert (await run("backlog", "show", "Task-013")).data["evidence"] == ["commit abc"]


async def test_config_gives_the_default_backlog_file(tmp_path: Path) -> None:
    import shutil

    from opencode.commands.registry import CommandContext, run_command
    from opencode.sessions.config import load_config
    from opencode.sessions.store.db import Store

    work = tmp_path / "proj"
    (work / "plans").mkdir(parents=True)
    shutil.copy(SEED, work / "plans" / "backlog.md")
    (work / "opencode.toml").write_text('[backlog]\nfile = "plans/backlog.md"\n')
    store = await Store.open(tmp_path / "c.sqlite")
    try:
        ctx = CommandContext(store=store, config=load_config(work), cwd=work)
        command, values = REGISTRY.parse(["backlog", "import"])
        result = await run_command(ctx, command, values)
    finally:
        await store.close()
    assert result.exit_code == 0
    assert result.data["file"] == str(work / "plans" / "backlog.md")
    assert result.data["created"] == 26


def test_cli_status_choices_match_the_model() -> None:
    """cmds.py keeps its own literal list so start-up never imports the model; they must agree."""
    from opencode.commands.backlog.cmds import STATUS_CHOICES
    from opencode.commands.backlog.model import STATUSES

    assert STATUS_CHOICES == STATUSES
