"""`opencode provider status` says that rpm/tpm limits are shared by every process using the
store (they are token buckets in SQLite), as a real subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.engine.helpers import opencode
from tests.resilience.helpers import provider_toml


def _project(tmp_path: Path, extra: str) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "opencode.toml").write_text(
        'model = "a/m1"\n' + provider_toml("a", "http://127.0.0.1:9", extra), encoding="utf-8"
    )
    return project


def test_status_says_the_limits_are_shared_across_processes(tmp_path: Path) -> None:
    project = _project(tmp_path, "rpm = 60\ntpm = 100000")
    plain = opencode(project, "provider", "status")
    assert plain.code == 0, plain.stderr
    assert "60 rpm · 100000 tpm" in plain.stdout and "LIMITS" in plain.stdout
    assert "shared by every opencode process using" in plain.stdout
    assert "two `opencode run` at once draw from one budget" in plain.stdout
    data = json.loads(opencode(project, "provider", "status", "--format", "json").stdout)
    assert [(d["provider"], d["rpm"], d["tpm"], d["limits_shared"]) for d in data] == [
        ("a", 60, 100000, True)
    ]


def test_no_limits_no_word_of_them(tmp_path: Path) -> None:
    plain = opencode(_project(tmp_path, ""), "provider", "status")
    assert plain.code == 0, plain.stderr
    assert "shared by every" not in plain.stdout and "LIMITS" not in plain.stdout


def test_an_untrusted_projects_own_provider_is_named_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The project's opencode.toml defines provider ``a`` and picks ``a/m1``; untrusted, its
    providers are ignored: status ended with ``KeyError: 'a'``."""
    monkeypatch.delenv("OPENCODE_TRUST_PROJECT", raising=False)
    plain = opencode(_project(tmp_path, ""), "provider", "status")
    assert plain.code == 0, plain.stderr
    assert "Traceback" not in plain.stderr
    assert "names provider 'a'" in plain.stdout and "[providers.a]" in plain.stdout
