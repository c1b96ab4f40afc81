"""The evidence behind plan-versus-reality classes, one signal at a time, on real git repos:
issue references, title words ranked by BM25, planned new files, busy-file noise, commit
attribution limits, the report's honesty about what it shortens."""

from __future__ import annotations

from pathlib import Path

from opencode.commands.backlog.model import issue_numbers, valid_key
from opencode.commands.backlog.parser import parse_backlog

from .conftest import Run
from .test_reality import NOW, Repo

# Commits "after the plan": items are planned when added, which is later than NOW.
LATER = NOW + 86400


async def _add(run: Run, title: str, *extra: str) -> None:
    result = await run("backlog", "add", *title.split(), *extra)
    assert result.exit_code == 0, result.text


async def _sync(run: Run, repo: Repo, *extra: str) -> dict[str, dict[str, object]]:
    result = await run("backlog", "sync", "--repo", str(repo.path), *extra)
    assert result.exit_code == 0, result.text
    return {str(i["title"]): i for i in result.data["items"]}


def test_key_formats_and_issue_references() -> None:
    assert valid_key("Task-014") and valid_key("GH-12") and valid_key("#123")
    assert not valid_key("#12a") and not valid_key("task 14") and not valid_key("#")
    assert issue_numbers("closes #12, see GH-9 and https://x/y/issues/7 (#300)") == {12, 9, 7, 300}
    assert issue_numbers("colour &#39; and a/b#4 and Task-12") == set()
    parsed = parse_backlog(
        "## 🚀 Ready for Implementation (High Priority)\n\n"
        "### 1. Natural lists (#110)\n**One-liner**: join items\n"
    )
    assert [(i.title, i.key) for i in parsed.items] == [("Natural lists", "#110")]


async def test_issue_references_in_commits_are_evidence(run: Run, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("initial", {"src/parse.py": "a\n", "tests/test_parse.py": "x\n"}, NOW - 100)
    await _add(run, "Parser survives empty input", "--source", "GitHub issue #42",
               "--file", "`src/parse.py`")  # fmt: skip
    await _add(run, "Keyed by its issue", "--key", "#77", "--file", "`src/parse.py`")
    await _add(run, "Issue four hundred twenty", "--source", "issue #420")
    fix = repo.commit(
        "Guard the reader (#42)",
        {"src/parse.py": "b\n", "tests/test_parse.py": "y\n"},
        LATER + 10,
    )
    repo.commit("Refs #77: first half", {"src/parse.py": "c\n"}, LATER + 20)
    repo.commit("Unrelated (#4200)", {"README": "r\n"}, LATER + 30)
    items = await _sync(run, repo)
    empty = items["Parser survives empty input"]
    assert empty["classification"] == "completed_but_undocumented"  # reference + tests changed
    assert [c["hash"] for c in empty["evidence"]["commits"]] == [fix]
    why = empty["evidence"]["attribution"][0]["why"]
    assert any(w.startswith("names ") and w.endswith("#42") for w in why), why
    keyed = items["Keyed by its issue"]
    assert keyed["key"] == "#77" and keyed["classification"] == "partially_completed"
    assert items["Issue four hundred twenty"]["classification"] == "not_started"  # not #4200


async def test_closing_reference_finishes_an_item(run: Run, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("initial", {"src/a.py": "a\n"}, NOW - 100)
    await _add(run, "Retry uploads", "--source", "issue #9", "--file", "`src/a.py`")
    done = repo.commit("Retry failed uploads, closes #9", {"src/a.py": "b\n"}, LATER + 5)
    item = (await _sync(run, repo))["Retry uploads"]
    assert item["classification"] == "completed_but_undocumented"
    assert item["evidence"]["closing_commit"] == done


async def test_busy_files_are_noise_not_progress(run: Run, tmp_path: Path) -> None:
    """The bug: a CLI module changed by dozens of commits made every item listing it look
    "partially completed"."""
    repo = Repo(tmp_path / "r")
    repo.commit("initial", {"src/cli.py": "0\n"}, NOW - 100)
    await _add(run, "Colour output for warnings", "--file", "`src/cli.py`")
    for n in range(25):
        repo.commit(f"Tweak flag parsing {n}", {"src/cli.py": f"v{n}\n"}, LATER + n)
    item = (await _sync(run, repo))["Colour output for warnings"]
    assert item["classification"] == "not_started"
    assert item["evidence"]["commits"] == [] and item["score"] == 0
    assert item["confidence"] == "medium"  # no commit here names any key
    (check,) = item["evidence"]["files"]
    assert len(check["changed_in"]) == 25 and check["other_changes"] == 25
    assert any("changed only by other work" in r for r in item["reasons"])


async def test_title_words_rank_commits_by_bm25(run: Run, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("initial", {"src/render/text.py": "t\n"}, NOW - 100)
    await _add(run, "Mermaid diagrams of the dependency graph",
               "--file", "`src/render/mermaid.py` (new)")  # fmt: skip
    await _add(run, "Graphviz layout tuning", "--file", "`src/render/dot.py`")
    for n in range(6):  # "graph" and "dependency" are common words here; "mermaid" is not
        repo.commit(f"Dependency graph cleanup {n}", {"src/render/text.py": f"{n}\n"}, LATER + n)
    added = repo.commit(
        "Render the dependency graph as Mermaid",
        {"src/render/mermaid.py": "m\n", "tests/test_mermaid.py": "def test(): pass\n"},
        LATER + 50,
    )
    items = await _sync(run, repo)
    mermaid = items["Mermaid diagrams of the dependency graph"]
    assert mermaid["classification"] == "completed_but_undocumented"
    assert [c["hash"] for c in mermaid["evidence"]["commits"]] == [added]
    why = " ".join(mermaid["evidence"]["attribution"][0]["why"])
    assert "mermaid" in why and "BM25" in why and "creates planned src/render/mermaid.py" in why
    assert mermaid["evidence"]["files"][0]["added_in"] == added
    assert mermaid["evidence"]["tests"] == ["tests/test_mermaid.py"]
    # Sharing only the common words "dependency graph" is no evidence.
    assert items["Graphviz layout tuning"]["classification"] == "not_started"


async def test_planned_new_file_missing_is_partial_and_new_flag_is_not_new(
    run: Run, tmp_path: Path
) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("initial", {"src/cli.py": "0\n"}, NOW - 100)
    await _add(run, "Zstandard and Brotli codecs",
               "--file", "`src/codecs/zstd.py` (new)", "--file", "`src/codecs/brotli.py` (new)",
               "--file", "`src/cli.py` (new flag)")  # fmt: skip
    repo.commit(
        "Add zstandard codec", {"src/codecs/zstd.py": "z\n", "src/cli.py": "1\n"}, LATER + 5
    )
    item = (await _sync(run, repo))["Zstandard and Brotli codecs"]
    assert item["classification"] == "partially_completed"
    files = {f["path"]: f for f in item["evidence"]["files"]}
    assert files["src/codecs/zstd.py"]["new"] and files["src/codecs/zstd.py"]["exists"]
    assert not files["src/codecs/brotli.py"]["exists"]
    assert files["src/cli.py"]["new"] is False
    assert "some planned new files do not exist yet" in item["reasons"]


async def test_a_commit_is_attributed_to_at_most_a_few_items(run: Run, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("initial", {"README": "0\n"}, NOW - 100)
    for _ in range(5):  # five items the commit matches equally well
        await _add(run, "Websocket transport reconnect")
    repo.commit("Websocket transport reconnect", {"src/ws.py": "w\n"}, LATER + 5)
    repo.commit("Unrelated docs", {"docs/a.md": "d\n"}, LATER + 6)
    repo.commit("More unrelated docs", {"docs/b.md": "d\n"}, LATER + 7)
    result = await run("backlog", "sync", "--repo", str(repo.path))
    claimed = [i for i in result.data["items"] if i["evidence"]["commits"]]
    assert len(claimed) == 3


async def test_report_never_truncates_silently_nor_hides_evidence(run: Run, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    repo.commit("initial", {"README": "0\n"}, NOW - 100)
    names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    for name in names:
        await _add(run, f"Quasar {name} module", "--file", f"`src/{name}.py` (new)")
        repo.commit(f"Add quasar {name} module", {f"src/{name}.py": "x\n"}, LATER + len(name))
    repo.commit("Rework the build scripts", {"scripts/build.sh": "b\n"}, LATER + 40)
    result = await run(
        "backlog", "sync", "--repo", str(repo.path), "--report-file", str(tmp_path / "r.md")
    )
    report = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert result.data["summary"]["completed_but_undocumented"] == 8
    assert "and 2 more (listed below)" in report
    assert "commits none" not in report and "commits: none" not in report
    assert "- **Documentation lag identified**:" in report
    assert "## Reality vs Plan" in report and "| Planned | Reality |" in report
    assert "## Drift Patterns Detected" in report and "`scripts/`: 1 commit(s)" in report
    assert "## Recommendations" in report
    # The window starts when the items were planned: "initial" is older, so not drift.
    assert [c["subject"] for c in result.data["unattributed_commits"]] == [
        "Rework the build scripts"
    ]


async def test_an_issue_key_is_found_before_an_id(run: Run) -> None:
    await _add(run, "First item")
    await _add(run, "Keyed by an issue", "--key", "#1")
    assert (await run("backlog", "show", "#1")).data["title"] == "Keyed by an issue"
    assert (await run("backlog", "show", "1")).data["title"] == "First item"
    assert (await run("backlog", "show", "#2")).data["title"] == "Keyed by an issue"  # id 2
    bad = await run("backlog", "add", "Bad", "--key", "#1x")
    assert bad.exit_code == 2 and "#NNN" in bad.data["error"]


async def test_key_commits_elsewhere_are_divergent_despite_busy_planned_files(
    run: Run, tmp_path: Path
) -> None:
    """The bug: other commits touching the planned (busy) file made this look "partial"."""
    repo = Repo(tmp_path / "r")
    repo.commit("initial", {"src/cli.py": "0\n"}, NOW - 100)
    await _add(run, "Config validation", "--key", "Task-050", "--file", "`src/cli.py`")
    for n in range(6):
        repo.commit(f"Reword help text {n}", {"src/cli.py": f"h{n}\n"}, LATER + n)
    repo.commit("Task-050: validate config", {"src/config/check.py": "c\n"}, LATER + 10)
    item = (await _sync(run, repo))["Config validation"]
    assert item["classification"] == "divergent"
    assert item["evidence"]["other_paths"] == ["src/config/check.py"]
    assert [c["subject"] for c in item["evidence"]["commits"]] == ["Task-050: validate config"]


async def test_commits_naming_the_key_count_even_before_the_plan_date(
    run: Run, tmp_path: Path
) -> None:
    """Work done before the backlog was imported is still the item's work when it names the
    key; words and busy files from before the plan are not."""
    repo = Repo(tmp_path / "r")
    await _add(run, "Streaming reader", "--key", "Task-013", "--file", "`src/stream.py`")
    await _add(run, "Streaming writer", "--file", "`src/writer.py`")
    repo.commit(
        "Closes Task-013: streaming reader",
        {"src/stream.py": "s\n", "tests/test_stream.py": "def test(): pass\n"},
        NOW - 3600,
    )
    repo.commit("Streaming writer", {"src/writer.py": "w\n"}, NOW - 3000)
    items = await _sync(run, repo)
    reader = items["Streaming reader"]
    assert reader["classification"] == "completed_but_undocumented"
    assert reader["confidence"] == "high"
    assert reader["evidence"]["files"][0]["touched_by_key_commits"] is True
    writer = items["Streaming writer"]
    assert writer["classification"] == "not_started"
    # This project names keys in commits, so no commit naming the writer's key means a lot.
    assert writer["confidence"] == "high"
