"""The groomed-backlog parser against the real seed file and a hand-made malformed file."""

from __future__ import annotations

from opencode.commands.backlog.model import effort_hours, priority_level
from opencode.commands.backlog.parser import parse_backlog, section_status

from .conftest import MALFORMED, SEED


def _seed() -> dict[str, object]:
    parsed = parse_backlog(SEED.read_text(encoding="utf-8"))
    return {"parsed": parsed, "by": {i.key or i.title: i for i in parsed.items}}


def test_seed_yields_every_task_with_its_section_status() -> None:
    parsed = parse_backlog(SEED.read_text(encoding="utf-8"))
    assert parsed.title == "Groomed Task Backlog - 2025-09-20"
    assert parsed.planned_at == 1758326400.0  # 2025-09-20T00:00:00Z
    statuses: dict[str, list[str]] = {}
    for item in parsed.items:
        statuses.setdefault(item.status, []).append(item.key or item.title)
    assert statuses["ready"] == ["Task-013", "Task-012", "Task-006"]
    assert statuses["ready_soon"] == [
        "Improve Validation Error Handling with Error Chaining",
        "Add Configuration Validation for Validator Settings",
        "Task-008",
    ]
    assert statuses["needs_decision"] == ["Agent Implementation MVP Architecture Planning"]
    assert statuses["optimization"] == [
        "Extract Common HTTP Request Logic (Ollama Provider)",
        "Implement Model Caching System (Ollama Provider)",
        "Implement Fallback Provider Pattern",
    ]
    assert len(statuses["archived"]) == 10
    assert statuses["deferred"] == [
        "Task-009",
        "Task-010",
        "Task-011",
        "Add trait documentation examples",
        "Improve test naming consistency",
        "Refactor large OpenAI provider",
    ]
    # The only problem is the file's encoding, which is repaired (emoji read as Mac Roman).
    assert [(p.line, p.severity) for p in parsed.problems] == [(1, "warning")]
    assert "Mac Roman" in parsed.problems[0].message


def test_seed_task_013_fields() -> None:
    item = _seed()["by"]["Task-013"]  # type: ignore[index]
    assert item.number == 1
    assert item.title == "Optimize Streaming Memory Usage"
    assert item.one_liner == (
        "Implement true streaming processing instead of loading entire responses into memory"
    )
    assert item.effort == "Large (4-6 hours)" and effort_hours(item.effort) == 5.0
    assert (
        item.priority == "High (production readiness)" and priority_level(item.priority) == "high"
    )
    assert item.risk == "Medium (core streaming behavior changes)"
    assert item.source == "Real HTTP streaming implementation performance review"
    assert item.files == [
        "`src/provider/local/ollama.rs:405-438` (response.text().await loads all)",
        "`src/provider/local/lmstudio.rs:428-500` (response.text().await loads all)",
        "`tests/real_http_streaming_test.rs` (add large response tests)",
        "`Cargo.toml` (potential async I/O dependencies)",
    ]
    assert [c.text for c in item.criteria] == [
        "Replace buffered text processing with streaming line readers",
        "Implement line-by-line processing for Ollama (NDJSON) and LMStudio (SSE)",
        "Memory usage constant regardless of response size",
        "Maintain all existing streaming behavior and error handling",
        "Add memory usage tests with large mock responses (>10MB)",
        "Validate 80-90% reduction in peak memory for large responses",
        "Ensure first chunk latency improved by 50%+ for large responses",
    ]
    assert not any(c.done for c in item.criteria)
    assert item.dependencies == [
        "Real HTTP streaming implementation (✅ complete)",
        "tokio async I/O capabilities (✅ available)",
    ]
    assert item.details_summary == "Full Implementation Details"
    # Notes keep the prose and the code fence, not the fields.
    assert item.notes.startswith("**Context**: Current HTTP streaming implementation loads")
    assert "let response_text = response.text().await?;" in item.notes
    assert "**Watch Out For**:" in item.notes
    assert "Acceptance Criteria" not in item.notes and "**Effort**" not in item.notes


def test_seed_keys_from_the_follow_up_list_and_blockers() -> None:
    by = _seed()["by"]
    # "### 3." has no key in its heading; the archive's follow-up list names it Task-006.
    assert by["Task-006"].title == "Extract Streaming Validation Logic into Shared Utilities"  # type: ignore[index]
    assert by["Task-006"].number == 3  # type: ignore[index]
    assert by["Task-008"].title == "Standardize Error Message Formatting Across Providers"  # type: ignore[index]
    assert by["Task-008"].files == [  # type: ignore[index]
        "`src/provider/error.rs`",
        "All provider files (formatting consistency)",
        "Related test files (update assertions)",
    ]
    improve = by["Improve Validation Error Handling with Error Chaining"]  # type: ignore[index]
    assert improve.blockers == ["Can be done in parallel with optimization tasks"]
    assert improve.notes.startswith("**Context**: Tower Validation Pipeline uses format!")
    caching = by["Implement Model Caching System (Ollama Provider)"]  # type: ignore[index]
    assert caching.blockers == ["Should complete after HTTP logic extraction"]
    assert caching.effort == "Medium (45-60 minutes)" and effort_hours(caching.effort) == 0.875
    agent = by["Agent Implementation MVP Architecture Planning"]  # type: ignore[index]
    assert agent.priority == "High" and agent.effort == "Large (design phase needed)"
    assert agent.notes.startswith("**Investigation needed**: Determine MVP scope")
    assert "- **Option B**: Conversational agent" in agent.notes


def test_seed_archived_and_deferred_entries() -> None:
    by = _seed()["by"]
    streaming = by["Real HTTP Streaming Implementation"]  # type: ignore[index]
    assert streaming.status == "archived"
    assert streaming.completed_on == "2025-09-19"
    assert streaming.notes == "with production-ready implementation"
    assert streaming.group == "Sync-Confirmed Major Completions"
    lmstudio = by["LMStudio Provider Implementation"]  # type: ignore[index]
    assert (lmstudio.completed_on, lmstudio.notes) == ("2025-08-25", "with TDD methodology")
    task7 = by["Task-007"]  # type: ignore[index]
    assert task7.title == "Implement real HTTP streaming"
    assert task7.status == "archived" and task7.completed_on == "2025-09-19"
    assert task7.group == "Follow-up Tasks from Real HTTP Streaming (September 19)"
    # Follow-up list entry + "Deferred Low Priority Tasks" line merge into one item.
    task9 = by["Task-009"]  # type: ignore[index]
    assert (task9.title, task9.status, task9.priority, task9.notes) == (
        "Replace test console output",
        "deferred",
        "Medium",
        "working adequately",
    )
    assert by["Task-011"].priority == "Low"  # type: ignore[index]
    trait = by["Add trait documentation examples"]  # type: ignore[index]
    assert (trait.status, trait.notes) == ("deferred", "Good for documentation sprint")
    # References to open tasks (Task-012, Task-013) did not create duplicates.
    titles = [i.title for i in _seed()["parsed"].items]  # type: ignore[attr-defined]
    assert len(titles) == len(set(titles)) == 26


def test_malformed_sections_are_reported_by_line_and_the_rest_imported() -> None:
    parsed = parse_backlog(MALFORMED.read_text(encoding="utf-8"))
    errors = {(p.line, p.message.split(":")[0]) for p in parsed.errors}
    assert {line for line, _ in errors} == {14, 20, 24, 29, 30, 43}
    messages = {p.line: p.message for p in parsed.problems}
    assert "no title" in messages[14]
    assert "status 'finished'" in messages[20]
    assert "Task-100 is used again (first at line 5)" in messages[24]
    assert "never closed" in messages[30]
    assert "unbalanced ~~" in messages[43]
    warnings = {p.line for p in parsed.problems if p.severity == "warning"}
    assert warnings == {10, 37}  # bad checkbox, empty files list
    kept = {i.key or i.title: i for i in parsed.items}
    assert set(kept) == {"Task-100", "Task-104", "Fine Archived"}
    assert [(c.text, c.done) for c in kept["Task-100"].criteria] == [
        ("first criterion", False),
        ("second criterion with a bad box", False),
    ]
    # The heading after the unclosed fence still starts its section.
    assert kept["Task-104"].status == "ready_soon"
    assert kept["Fine Archived"].completed_on == "2025-02-02"


def test_section_headings_map_to_statuses_whatever_the_emoji() -> None:
    assert section_status("üöÄ Ready for Implementation (High Priority)") == "ready"
    assert section_status("⏳ Ready Soon (Medium Priority)") == "ready_soon"
    assert section_status("🔍 Needs Decision/Investigation") == "needs_decision"
    assert section_status("🔄 Ready for Optimization (Lower Priority)") == "optimization"
    assert section_status("In Progress") == "in_progress"
    assert section_status("🗑️ Archived Tasks") == "archived"
    assert section_status("Summary Statistics") is None
    assert section_status("📊 Sync Integration Summary") is None


def test_checked_criteria_and_colon_inside_bold() -> None:
    text = (
        "# B\n\n## In Progress\n\n### Thing (Task-5)\n**Priority:** Critical\n"
        "**Acceptance Criteria**:\n- [x] one\n- [X] two\n- [ ] three\n"
    )
    (item,) = parse_backlog(text).items
    assert item.status == "in_progress" and item.priority == "Critical"
    assert [c.done for c in item.criteria] == [True, True, False]
