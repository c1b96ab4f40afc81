"""Plan-versus-reality sync on real project history (git bundles in tests/fixtures/repos).

Each bundle is cloned into a temporary folder (never fetched); its backlog, planned at a
release tag, is imported through the command registry and synced with ``--since TAG``. The
expected classes come from the history (see the fixtures' README); the sync must get at least
90% of them right, and where it calls an item done, the commits that did it must be the ones
shown.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import Run

REPOS = Path(__file__).resolve().parent.parent / "fixtures" / "repos"
SPECS = sorted(REPOS.glob("*.expected.json"))


def _clone(bundle: Path, into: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(bundle), str(into)], check=True, capture_output=True)
    return into


async def _sync(
    run: Run, spec_path: Path, tmp_path: Path, *extra: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    repo = _clone(REPOS / spec["bundle"], tmp_path / "clone")
    imported = await run("backlog", "import", str(REPOS / spec["backlog"]))
    assert imported.exit_code == 0, imported.text
    result = await run(
        "backlog", "sync", "--repo", str(repo), "--since", spec["since"],
        "--state-file", str(tmp_path / "state.json"), "--report-file", str(tmp_path / "report.md"),
        *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.text
    return spec, result.data


@pytest.mark.parametrize("spec_path", SPECS, ids=[p.name.split(".")[0] for p in SPECS])
async def test_real_history_is_classified_as_it_happened(
    run: Run, tmp_path: Path, spec_path: Path
) -> None:
    spec, data = await _sync(run, spec_path, tmp_path)
    got = {i["key"]: i["classification"] for i in data["items"]}
    assert set(got) == set(spec["expected"])
    right = [k for k, want in spec["expected"].items() if got[k] == want]
    wrong = {k: (spec["expected"][k], got[k]) for k in got if k not in right}
    assert len(right) >= 0.9 * len(got), wrong
    for item in data["items"]:
        commits = item["evidence"]["commits"]
        if item["classification"] == "not_started":
            assert commits == [] and item["score"] == 0
            # These projects never name Task keys in commits: silence is weaker evidence.
            assert item["confidence"] == "medium"
        if item["classification"] == "completed_but_undocumented":
            # Done is earned: commits, each with the reasons it was attributed.
            assert commits and all(a["why"] for a in item["evidence"]["attribution"])
    # Done and untouched items no longer look alike: their scores do not overlap.
    done = [
        i["score"] for i in data["items"] if i["classification"] == "completed_but_undocumented"
    ]
    untouched = [i["score"] for i in data["items"] if i["classification"] == "not_started"]
    assert done and untouched and min(done) > max(untouched)


@pytest.mark.skipif(not (REPOS / "humanize.bundle").exists(), reason="fixture missing")
async def test_humanize_evidence_names_the_commits_that_did_the_work(
    run: Run, tmp_path: Path
) -> None:
    spec, data = await _sync(run, REPOS / "humanize.expected.json", tmp_path)
    by_key = {i["key"]: i for i in data["items"]}
    # "#110" is the item's key and its Source: the commit "Add natural_list (#110)" did it.
    natural = by_key["#110"]
    subjects = [c["subject"] for c in natural["evidence"]["commits"]]
    assert "Add natural_list (#110)" in subjects
    assert natural["confidence"] == "high"
    lists = next(f for f in natural["evidence"]["files"] if f["path"] == "src/humanize/lists.py")
    assert lists["new"] and lists["exists"] and lists["added_in"].startswith("d7f5dc5")
    # The Source line names issue #17; the commit subject references it.
    aware = by_key["Task-102"]["evidence"]["commits"]
    assert any("#17" in c["subject"] for c in aware)
    # A half-done pair of translations is partial: one planned catalogue exists, one does not.
    pair = by_key["Task-112"]
    assert pair["classification"] == "partially_completed"
    assert "some planned new files do not exist yet" in pair["reasons"]
    # The report shows the attributed commits, never "commits none" next to evidence.
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "`d7f5dc5" in report
    for block in report.split("#### ")[1:]:
        if "commits none" in block:
            assert "Score**: 0" in block or "score 0" in block, block


@pytest.mark.skipif(not (REPOS / "humanize.bundle").exists(), reason="fixture missing")
async def test_apply_on_real_history_acts_only_on_high_confidence(run: Run, tmp_path: Path) -> None:
    spec, plain = await _sync(run, REPOS / "humanize.expected.json", tmp_path)
    before = {i["key"]: i["status"] for i in (await run("backlog", "list")).data}
    assert all(i["applied_status"] is None for i in plain["items"])
    result = await run(
        "backlog", "sync", "--repo", str(tmp_path / "clone"), "--since", spec["since"], "--apply"
    )
    findings = {i["key"]: i for i in result.data["items"]}
    after = {i["key"]: i["status"] for i in (await run("backlog", "list")).data}
    for key, finding in findings.items():
        if finding["confidence"] != "high" or finding["classification"] == "not_started":
            assert after[key] == before[key], (key, finding["classification"])
        elif finding["classification"] == "completed_but_undocumented":
            assert after[key] == "done"
    # Medium-confidence completions stay for a person to confirm (or --min-confidence medium).
    assert (
        findings["Task-104"]["confidence"] == "medium" and after["Task-104"] == before["Task-104"]
    )
    assert after["#110"] == "done" and after["Task-115"] == before["Task-115"]
