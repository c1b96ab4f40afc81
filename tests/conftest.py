"""Shared fixtures: every test runs with its own config home and data dir, never the user's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point config and data at tmp dirs and drop provider keys from the environment."""
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("OPENCODE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("OPENCODE_CONFIG", raising=False)
    # Tests build throwaway projects whose opencode.toml allows tools, adds hooks and MCP
    # servers: they run as `opencode run --trust-project` would (tests/trust/ unset this to
    # test the untrusted default, which users get).
    monkeypatch.setenv("OPENCODE_TRUST_PROJECT", "1")
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    yield tmp_path
