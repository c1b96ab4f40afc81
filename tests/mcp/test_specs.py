"""[mcp.NAME] in opencode.toml and Claude Code's .mcp.json, read into ServerSpecs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opencode.sessions.config import ConfigError, load_config, secret_env_names
from opencode.sessions.mcp.specs import load_specs, safe_name


def _load(project: Path, toml: str = "", mcp_json: object | None = None) -> list:  # type: ignore[type-arg]
    project.mkdir(parents=True, exist_ok=True)
    (project / "opencode.toml").write_text(toml, encoding="utf-8")
    if mcp_json is not None:
        (project / ".mcp.json").write_text(json.dumps(mcp_json), encoding="utf-8")
    warnings: list[str] = []
    config = load_config(project, warn=warnings.append)
    assert warnings == []  # [mcp] is a known section
    return load_specs(config, project)


def test_toml_stdio_and_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCP_TEST_TOKEN", "tok-123456789")
    specs = _load(
        tmp_path,
        '[mcp.git]\ncommand = "uvx"\nargs = ["mcp-server-git"]\n'
        'env = { GITHUB_TOKEN = "{env:MCP_TEST_TOKEN}" }\ntimeout = 5\n'
        '[mcp.remote]\nurl = "https://example.com/mcp"\nheaders = { Authorization = "Bearer x" }\n'
        "enabled = false\n",
    )
    git, remote = specs
    assert (git.transport, git.command, git.args, git.timeout) == (
        "stdio",
        "uvx",
        ("mcp-server-git",),
        5.0,
    )
    assert git.env == {"GITHUB_TOKEN": "tok-123456789"}
    assert "MCP_TEST_TOKEN" in secret_env_names()  # the server's env is a secret
    assert (remote.transport, remote.url, remote.enabled) == (
        "http",
        "https://example.com/mcp",
        False,
    )
    assert remote.secrets() == ["Bearer x"]


def test_opencode_json_style_command_list(tmp_path: Path) -> None:
    (spec,) = _load(
        tmp_path,
        '[mcp.fs]\ntype = "local"\ncommand = ["npx", "-y", "server-fs"]\n'
        'environment = { A = "b" }\n',
    )
    assert (spec.command, spec.args, spec.env) == ("npx", ("-y", "server-fs"), {"A": "b"})


def test_claude_code_mcp_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCP_JSON_KEY", "secret-value-xyz")
    specs = _load(
        tmp_path,
        '[mcp.shared]\ncommand = "from-toml"\n',
        {
            "mcpServers": {
                "time": {
                    "command": "uvx",
                    "args": ["mcp-server-time"],
                    "env": {"K": "${MCP_JSON_KEY}"},
                },
                "api": {
                    "type": "http",
                    "url": "https://x.test/mcp",
                    "headers": {"X": "{env:MCP_JSON_KEY}"},
                },
                "dflt": {"command": "c", "env": {"D": "${MCP_UNSET_VAR:-fallback}"}},
                "shared": {"command": "from-json"},
            }
        },
    )
    by = {s.name: s for s in specs}
    assert by["time"].env == {"K": "secret-value-xyz"}
    assert by["api"].headers == {"X": "secret-value-xyz"} and by["api"].transport == "http"
    assert by["dflt"].env == {"D": "fallback"}
    assert by["shared"].command == "from-toml"  # opencode.toml wins over .mcp.json


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[mcp.a]\nargs = ["x"]\n', "key command: expected the server's program"),
        ('[mcp.a]\ncommand = "x"\ntimeout = -1\n', "key timeout: expected a positive number"),
        (
            '[mcp.a]\nurl = "ftp://x"\ntype = "http"\n',
            "key url: expected an http:// or https:// URL",
        ),
        (
            '[mcp.a]\ncommand = "x"\nenv = { A = 1 }\n',
            "key env: expected a table of string values, got (hidden)",
        ),
        ('[mcp.a]\ntype = "sse"\nurl = "http://x"\n', "old SSE transport is not supported"),
        ("[mcp]\na = 5\n", "[mcp.a] must be a table"),
    ],
)
def test_bad_server_tables_say_where(tmp_path: Path, toml: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, toml)
    assert expected in str(info.value)
    assert "opencode.toml" in str(info.value)


def test_bad_mcp_json_names_file_and_line(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / ".mcp.json").write_text('{"mcpServers": {\n  "a": {"command": "x",}\n}}')
    (tmp_path / "opencode.toml").write_text("")
    with pytest.raises(ConfigError, match=r"\.mcp\.json:2:\d+: invalid JSON"):
        load_specs(load_config(tmp_path), tmp_path)


def test_unset_env_in_mcp_json_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MCP_SURELY_UNSET is not set"):
        _load(
            tmp_path,
            "",
            {"mcpServers": {"a": {"command": "x", "env": {"T": "${MCP_SURELY_UNSET}"}}}},
        )


def test_safe_name() -> None:
    assert safe_name("my server.v2") == "my_server_v2"
    assert safe_name("") == "_"


def test_unknown_server_key_is_a_warning(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "opencode.toml").write_text('[mcp.a]\ncommand = "x"\ncomand = "y"\n')
    warnings: list[str] = []
    (spec,) = load_specs(load_config(tmp_path), tmp_path, warnings)
    assert spec.command == "x"
    assert len(warnings) == 1 and "unknown key 'comand'" in warnings[0]
    assert "did you mean 'command'?" in warnings[0]
