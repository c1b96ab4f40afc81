"""Config: precedence, substitution, and errors that name file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.sessions.config import ConfigError, load_config
from tests.engine.helpers import opencode


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def global_file(tmp_path: Path) -> Path:
    return tmp_path / "home" / ".config" / "opencode" / "opencode.toml"


def test_defaults_without_any_file(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.model == "local/smollm2"
    assert config.sources == []
    assert config.data_dir == tmp_path / "data"  # $OPENCODE_DATA_DIR from the fixture
    assert config.providers["openai"].base_url == "https://api.openai.com/v1"
    assert config.providers["local"].api == "local"


def test_project_file_overlays_global_file(tmp_path: Path) -> None:
    write(
        global_file(tmp_path),
        'model = "openai/gpt-4o"\nmax_steps = 7\n[provider.openai]\ntimeout = 30\n',
    )
    project = tmp_path / "proj"
    write(
        project / "opencode.toml", 'model = "llamacpp/smollm2"\n[provider.openai]\nmodels = ["a"]\n'
    )
    config = load_config(project)
    assert config.model == "llamacpp/smollm2"
    assert config.max_steps == 7
    assert config.providers["openai"].timeout == 30.0
    assert config.providers["openai"].models == ("a",)
    assert config.sources == [global_file(tmp_path), project / "opencode.toml"]


def test_opencode_config_env_replaces_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(global_file(tmp_path), 'model = "openai/gpt-4o"\n')
    explicit = write(tmp_path / "elsewhere.toml", 'model = "anthropic/claude"\n')
    monkeypatch.setenv("OPENCODE_CONFIG", str(explicit))
    assert load_config(tmp_path).model == "anthropic/claude"


def test_env_and_file_substitution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-from-env")
    write(tmp_path / "secrets" / "key.txt", "sk-from-file\n")
    write(
        tmp_path / "opencode.toml",
        '[provider.a]\napi = "openai"\nbase_url = "http://127.0.0.1:1/v1"\n'
        'api_key = "{env:MY_KEY}"\n'
        '[provider.b]\napi = "anthropic"\nbase_url = "http://127.0.0.1:2"\n'
        'api_key = "{file:secrets/key.txt}"\n',
    )
    config = load_config(tmp_path)
    assert config.providers["a"].api_key == "sk-from-env"
    assert config.providers["b"].api_key == "sk-from-file"
    assert "sk-from" not in repr(config.providers["a"])


def test_data_dir_env_overrides_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "opencode.toml", 'data_dir = "rel/data"\n')
    monkeypatch.delenv("OPENCODE_DATA_DIR")
    assert load_config(tmp_path).data_dir == tmp_path / "rel" / "data"
    monkeypatch.setenv("OPENCODE_DATA_DIR", str(tmp_path / "override"))
    assert load_config(tmp_path).data_dir == tmp_path / "override"


def test_permission_tables(tmp_path: Path) -> None:
    write(
        tmp_path / "opencode.toml",
        '[permission]\nedit = "ask"\n[permission.bash]\n"*" = "ask"\n"git status*" = "allow"\n',
    )
    permission = load_config(tmp_path).permission
    assert permission.tools == {"edit": "ask"}
    assert permission.bash == (("*", "ask"), ("git status*", "allow"))


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (
            'model = "x/y"\n[provider.bad]\napi = "grpc"\n',
            3,
            "key provider.bad.api: expected one of",
        ),
        ('[provider.bad]\napi = "openai"\nbase_url = "ftp://x"\n', 3, "an http:// or https:// URL"),
        ("[provider.openai]\n\ntimeout = -1\n", 3, "key provider.openai.timeout"),
        ('max_steps = "many"\n', 1, "key max_steps: expected a positive integer"),
        ('[permission]\nbash = "sometimes"\n', 2, "allow, ask or deny"),
    ],
)
def test_invalid_values_name_file_line_and_key(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    path = write(tmp_path / "opencode.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    message = str(info.value)
    assert f"{path}:{line}" in message
    assert fragment in message


def test_toml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "opencode.toml", 'model = "a/b"\n[provider.x\napi = 1\n')
    with pytest.raises(ConfigError, match=rf"{path}:2:\d+: invalid TOML"):
        load_config(tmp_path)


def test_missing_file_substitution_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "opencode.toml", '[provider.openai]\napi_key = "{file:nope.txt}"\n')
    with pytest.raises(
        ConfigError, match=r"opencode.toml:2: key provider.openai.api_key: \{file:nope.txt\}"
    ):
        load_config(tmp_path)


def test_api_key_value_never_shown_in_errors(tmp_path: Path) -> None:
    write(tmp_path / "opencode.toml", "[provider.openai]\napi_key = 12345678\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert "12345678" not in str(info.value)
    assert "(hidden)" in str(info.value)


def test_unknown_provider_in_model(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    with pytest.raises(ConfigError, match="unknown provider 'nope'"):
        config.resolve_model("nope/model")
    with pytest.raises(ConfigError, match="PROVIDER/MODEL"):
        config.resolve_model("justamodel")


def test_cli_exits_2_on_malformed_config(tmp_path: Path) -> None:
    write(tmp_path / "opencode.toml", "model = \n")
    run = opencode(tmp_path, "run", "hi")
    assert run.code == 2
    assert "opencode.toml:1" in run.stderr
    assert "invalid TOML" in run.stderr
