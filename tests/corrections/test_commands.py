"""`opencode patch ...` end to end: real subprocesses, a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.engine.helpers import db_path, opencode


def patch(project: Path, *args: str) -> tuple[int, str, str]:
    run = opencode(project, "patch", *args)
    return run.code, run.stdout, run.stderr


def test_add_list_test_disable_remove(tmp_path: Path) -> None:
    code, out, err = patch(tmp_path, "add", "teh", "the", "--description", "typo")
    assert code == 0, err
    assert "Added correction rule 1" in out
    code, out, err = patch(tmp_path, "add", r"(\d{1,3})%", r"\1 percent", "--regex")
    assert code == 0, err

    code, out, _ = patch(tmp_path, "list", "--format", "json")
    rules = json.loads(out)
    assert [(r["id"], r["pattern"], r["regex"]) for r in rules] == [
        (1, "teh", False),
        (2, r"(\d{1,3})%", True),
    ]

    code, out, _ = patch(tmp_path, "test", "teh", "cat", "is", "50%", "--format", "json")
    result = json.loads(out)
    assert result["output"] == "the cat is 50 percent"
    assert [h["rule"] for h in result["hits"]] == [1, 2]
    # test logs nothing and counts no hits
    assert sqlite3.connect(db_path()).execute("SELECT count(*) FROM correction_log").fetchone() == (
        0,
    )

    assert patch(tmp_path, "disable", "1")[0] == 0
    code, out, _ = patch(tmp_path, "test", "teh", "--format", "json")
    assert json.loads(out)["output"] == "teh"
    assert patch(tmp_path, "remove", "1")[0] == 0
    code, _, err = patch(tmp_path, "show", "1")
    assert code == 1 and "no correction rule 1" in err


def test_a_bad_regex_is_refused_at_add_with_exit_2(tmp_path: Path) -> None:
    code, _, err = patch(tmp_path, "add", "(oops", "x", "--regex")
    assert code == 2
    assert "bad regular expression" in err
    code, _, err = patch(tmp_path, "add", ".*", "x", "--regex")
    assert code == 2 and "length bound" in err
    code, out, _ = patch(tmp_path, "list", "--format", "json")
    assert json.loads(out) == []


def test_export_then_import_round_trips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    patch(tmp_path, "add", "colour", "color", "--mode", "shadow", "--model", "local/*")
    patch(tmp_path, "add", "/old/", "/new/", "--scope", "tool_arguments", "--priority", "3")
    code, _, err = patch(tmp_path, "export", "-o", "rules.json")
    assert code == 0, err
    exported = json.loads((tmp_path / "rules.json").read_text())
    other = tmp_path / "other"
    other.mkdir()
    (other / "rules.json").write_text(json.dumps(exported))
    # a second data dir: import into an empty database
    monkeypatch.setenv("OPENCODE_DATA_DIR", str(tmp_path / "data2"))
    code, out, err = patch(other, "import", "rules.json")
    assert code == 0, err
    assert "Imported 2 rule(s)" in out
    code, out, _ = patch(other, "export")
    assert json.loads(out) == exported


def test_import_checks_every_rule_before_storing_any(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(
        json.dumps(
            {
                "rules": [
                    {"pattern": "ok", "replacement": "x"},
                    {"pattern": "a+", "replacement": "b", "regex": True},
                ]
            }
        )
    )
    code, _, err = patch(tmp_path, "import", "bad.json")
    assert code == 2 and "rule 2" in err
    assert json.loads(patch(tmp_path, "list", "--format", "json")[1]) == []
    (tmp_path / "broken.json").write_text('{"rules": [')
    code, _, err = patch(tmp_path, "import", "broken.json")
    assert code == 1 and "broken.json:1: not valid JSON" in err
