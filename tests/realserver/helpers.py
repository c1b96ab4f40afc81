"""Helpers for the real-server tier: a project whose opencode.toml points at a real server,
and the fixed sampling settings that keep runs repeatable (temperature 0, a seed, few tokens)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit

from tests.realserver.servers import ALIAS

SAMPLING: dict[str, Any] = {"temperature": 0, "seed": 42, "max_tokens": 24}
# SmolLM2 never chooses a tool by itself; these nudge the prompt towards one.
TOOL_PROMPT = "Use the read tool to read the file notes.txt."


def write_real_config(project: Path, api: str, base_url: str, **options: Any) -> Path:
    """``[provider.real]`` for ``api`` at ``base_url``; ``options`` go into the table."""
    project.mkdir(parents=True, exist_ok=True)
    table: dict[str, Any] = {
        "api": api,
        "base_url": base_url,
        "api_key": "sk-real-server-unused",
        "models": [ALIAS],
        "max_retries": 0,
        "timeout": 120,
        **SAMPLING,
        **options,
    }
    document = {"model": f"real/{ALIAS}", "provider": {"real": table}}
    path = project / "opencode.toml"
    path.write_text(tomlkit.dumps(document), encoding="utf-8")
    return path
