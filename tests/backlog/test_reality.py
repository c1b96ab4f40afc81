"""Plan-versus-reality sync against real temporary git repositories."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from opencode.commands.registry import CommandContext

from .conftest import Run

NOW = int(time.time())


class Repo:
    """A real git repository whose commits carry chosen dates."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.name", "Test")
        self.git("config", "user.email", "test@example.invalid")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, when: int | None = None) -> str:
        env = dict(os.environ)
        if when is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{when} +0000"
        done = subprocess.run(
            ["git", *args], cwd=self.path, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout

    def commit(self, message: str, files: dict[str, str], when: int) -> str:
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            self.git("add", name)
        self.git("commit", "-q", "-m", message, when=when)
        return self.git("rev-parse", "HEAD").strip()


async def _add(run: Run, key: str, *files: str, criteria: tuple[str, ...] = ()) -> None:
    words = ["backlog", "add", f"Task {key}", "--key", key]
    for name in files:
        words += ["--file", f"`{name}` (planned)"]
    for text in criteria:
        words += ["--criterion", text]
    result = await run(*words)
    assert result.exit_code == 0, result.text


@pytest.fixture
async def scenario(run: Run, tmp_path: Path) -> dict[str, str]:
    """Five items, and history that completes one, starts one, diverges on one."""
    repo = Repo(tmp_path / "repo")
    hashes = {"old": repo.commit("initial layout", {"src/error.rs": "old\n"}, NOW - 86400 * 400)}
    await _add(run, "Task-013", "src/stream.py", criteria=("reader", "tests"))
    await _add(run, "Task-012", "src/usage.py")
    await _add(run, "Task-006", "src/validation.py")
    await _add(run, "Task-008", "src/error.rs")
    await _add(run, "Task-020", criteria=("only ticked",))
    assert (await run("backlog", "check", "Task-020", "1")).exit_code == 0
    hashes["t13a"] = repo.commit(
        "Task-013: streaming line reader", {"src/stream.py": "v1\n"}, NOW + 10
    )
    hashes["t12"] = repo.commit("Start Task-012 extraction", {"src/usage.py": "u\n"}, NOW + 20)
    hashes["t6"] = repo.commit(
        "validation helpers (Task-006)", {"src/other/validate.py": "v\n"}, NOW + 30
    )
    hashes["noise"] = repo.commit("Task-0131 is someone else", {"README": "x\n"}, NOW + 35)
    hashes["t13b"] = repo.commit(
        "Closes Task-013: memory tests",
        {"src/stream.py": "v2\n", "tests/test_task013_stream.py": "def test_x(): pass\n"},
        NOW + 40,
    )
    hashes["repo"] = str(repo.path)
    return hashes


async def test_sync_classifies_items_with_their_evidence(
    run: Run, ctx: CommandContext, scenario: dict[str, str], tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    result = await run(
        "backlog", "sync", "--repo", scenario["repo"], "--state-file", str(state_file),
        "--report-file", str(tmp_path / "report.md"),
    )  # fmt: skip
    assert result.exit_code == 0, result.text
    by_key = {i["key"]: i for i in result.data["items"]}
    assert {k: v["classification"] for k, v in by_key.items()} == {
        "Task-013": "completed_but_undocumented",
        "Task-012": "partially_completed",
        "Task-006": "divergent",
        "Task-008": "not_started",
        "Task-020": "partially_completed",
    }
    t13 = by_key["Task-013"]
    assert [c["hash"] for c in t13["evidence"]["commits"]] == [scenario["t13b"], scenario["t13a"]]
    assert t13["evidence"]["closing_commit"] == scenario["t13b"]
    assert t13["evidence"]["tests"] == ["tests/test_task013_stream.py"]
    assert t13["evidence"]["files"][0]["path"] == "src/stream.py"
    assert t13["evidence"]["files"][0]["changed_in"] == [scenario["t13b"], scenario["t13a"]]
    assert t13["confidence"] == "high"  # closing commit + tests + every planned file changed
    t6 = by_key["Task-006"]
    assert [c["hash"] for c in t6["evidence"]["commits"]] == [scenario["t6"]]
    assert t6["evidence"]["other_paths"] == ["src/other/validate.py"]
    assert t6["evidence"]["files"][0]["exists"] is False
    t8 = by_key["Task-008"]["evidence"]
    # The file exists but only changed before the plan was written.
    assert t8["files"][0]["exists"] is True and t8["files"][0]["changed_in"] == []
    assert t8["commits"] == []
    assert result.data["summary"] == {
        "checked": 5,
        "completed_but_undocumented": 1,
        "partially_completed": 2,
        "divergent": 1,
        "not_started": 1,
    }
    # The machine-readable state and the report are on disk; nothing changed without --apply.
    saved = json.loads(state_file.read_text())
    assert saved["head"] == scenario["t13b"] and saved["applied"] is False
    assert saved["grooming_hints"]["skip_completed"] == ["Task-013"]
    report = (tmp_path / "report.md").read_text()
    assert "## Sync Summary" in report
    assert "- **Completed but undocumented**: 1 (Task-013)" in report
    assert f"`{scenario['t13b'][:10]}`" in report
    assert "- **Test coverage**: `tests/test_task013_stream.py`" in report
    assert (await run("backlog", "show", "Task-013")).data["status"] == "ready"


async def test_apply_records_evidence_and_never_marks_done_without_a_commit(
    run: Run, ctx: CommandContext, scenario: dict[str, str]
) -> None:
    # --min-confidence low: --apply now acts only on high confidence by default (acting on
    # every low-confidence guess was the bug); this test is about what applying records.
    result = await run(
        "backlog", "sync", "--repo", scenario["repo"], "--apply", "--min-confidence", "low"
    )
    assert result.exit_code == 0 and result.changed == frozenset({"backlog"})
    t13 = (await run("backlog", "show", "Task-013")).data
    assert t13["status"] == "done"
    assert t13["completed_on"] == time.strftime("%Y-%m-%d", time.gmtime(NOW + 40))
    assert any(e.startswith(f"commit {scenario['t13b'][:10]}") for e in t13["evidence"])
    assert "test tests/test_task013_stream.py" in t13["evidence"]
    statuses = {i["key"]: i["status"] for i in (await run("backlog", "list")).data}
    assert statuses == {
        "Task-013": "done",
        "Task-012": "in_progress",
        "Task-006": "needs_decision",
        "Task-008": "ready",
        # All its criteria are ticked, but no commit shows it: in progress, not done.
        "Task-020": "in_progress",
    }
    runs = await ctx.store.fetchall("SELECT applied, head FROM backlog_sync_run")
    assert [(r["applied"], r["head"]) for r in runs] == [(1, scenario["t13b"])]


async def test_since_limits_the_commits_considered(run: Run, scenario: dict[str, str]) -> None:
    result = await run("backlog", "sync", "--repo", scenario["repo"], "--since", scenario["noise"])
    by_key = {i["key"]: i for i in result.data["items"]}
    t13 = by_key["Task-013"]
    assert [c["hash"] for c in t13["evidence"]["commits"]] == [scenario["t13b"]]
    assert by_key["Task-012"]["classification"] == "not_started"
    assert by_key["Task-006"]["classification"] == "not_started"
    assert result.data["since"] == scenario["noise"]


async def test_sync_errors_name_the_problem(
    run: Run, scenario: dict[str, str], tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = await run("backlog", "sync", "--repo", str(plain))
    assert result.exit_code == 1
    assert (
        "not inside a git repository" in result.data["error"] and str(plain) in result.data["error"]
    )
    bad = await run("backlog", "sync", "--repo", scenario["repo"], "--since", "no-such-rev")
    assert bad.exit_code == 1 and "'no-such-rev' is not a commit" in bad.data["error"]


def test_listed_path_extraction() -> None:
    from opencode.commands.backlog.classify import listed_path

    assert listed_path("`src/provider/local/ollama.rs:405-438` (loads all)") == (
        "src/provider/local/ollama.rs"
    )
    assert listed_path("`src/validation/request_validator.rs:103,110,123,188`") == (
        "src/validation/request_validator.rs"
    )
    assert listed_path("`Cargo.toml` (deps)") == "Cargo.toml"
    assert listed_path("All provider files (formatting consistency)") is None
    assert listed_path("src/a.py") == "src/a.py"


async def test_second_apply_changes_nothing_and_groom_shows_sync_findings(
    run: Run, scenario: dict[str, str]
) -> None:
    first = await run(
        "backlog", "sync", "--repo", scenario["repo"], "--apply", "--min-confidence", "low"
    )
    assert first.changed == frozenset({"backlog"})
    evidence = (await run("backlog", "show", "Task-012")).data["evidence"]
    assert evidence[0].endswith("partially_completed (medium confidence)")
    assert f"commit {scenario['t12'][:10]} " in evidence[1]
    second = await run(
        "backlog", "sync", "--repo", scenario["repo"], "--apply", "--min-confidence", "low"
    )
    assert second.changed == frozenset()
    assert (await run("backlog", "show", "Task-012")).data["evidence"] == evidence
    groomed = await run("backlog", "groom")
    hints = {s["key"]: s["sync"] for s in groomed.data["sequence"]}
    assert hints["Task-012"] == "partially_completed"
    assert hints["Task-008"] is None
    assert "Task-013" not in hints  # done now, so no longer in the sequence
    assert "[last sync: divergent; see `backlog sync`]" in (groomed.text or "")


async def test_fixtures_and_docs_under_tests_are_not_tests(run: Run, tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r2")
    await _add(run, "Task-031")
    repo.commit(
        "data for Task-031",
        {
            "tests/fixtures/task031.md": "Task-031\n",
            "tests/notes.md": "Task-031\n",
            "spec/task_31_spec.rb": "it 'works' do end\n",
        },
        NOW + 5,
    )
    result = await run("backlog", "sync", "--repo", str(repo.path))
    (item,) = result.data["items"]
    # Named after the key (task_31 matches Task-031); the markdown files are not tests.
    assert item["evidence"]["tests"] == ["spec/task_31_spec.rb"]


async def test_a_hung_git_times_out_with_a_clear_error(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opencode.sessions import git

    # A real subprocess that hangs like git waiting on a lock: `exec` so the timeout's kill
    # reaches the sleeping process itself.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text("#!/bin/sh\nexec sleep 5\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(git, "GIT_TIMEOUT_S", 0.3)
    started = time.monotonic()
    result = await run("backlog", "sync", "--repo", str(tmp_path))
    assert time.monotonic() - started < 3
    assert result.exit_code == 1
    error = result.data["error"]
    assert f"git rev-parse --show-toplevel in {tmp_path} did not finish within 0.3 s" in error
    assert str(tmp_path) in error and "not inside a git repository" not in error
