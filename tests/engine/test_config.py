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


@pytest.mark.parametrize(
    ("text", "line", "key", "first"),
    [
        ('model = "a/b"\nmax_steps = 3\nmodel = "c/d"\n', 3, "model", 1),
        (
            '[provider.x]\napi = "openai"\ntimeout = 5\n\ntimeout = 6\n',
            5,
            "provider.x.timeout",
            3,
        ),
        ('[permission]\nedit = "allow"\n[permission]\nwrite = "allow"\n', 3, "permission", 1),
        ('[provider.x]\napi = "openai"\n[other]\n[provider.x]\n', 4, "provider.x", 1),
    ],
)
def test_duplicate_key_names_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, first: int
) -> None:
    path = write(tmp_path / "opencode.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value).startswith(
        f"{path}:{line}: duplicate key {key} (first set at line {first}); "
    )


def test_cli_exits_2_on_a_duplicate_key_without_a_traceback(tmp_path: Path) -> None:
    path = write(tmp_path / "opencode.toml", "max_steps = 3\n[sync]\nmax_steps = 2\n")
    ok = opencode(tmp_path, "session", "list")
    assert ok.code == 0, ok.stderr  # the same key in another table is no duplicate
    write(path, 'max_steps = 3\nmodel = "a/b"\nmax_steps = 4\n')
    run = opencode(tmp_path, "run", "hi")
    assert run.code == 2
    assert f"{path}:3: duplicate key max_steps (first set at line 1)" in run.stderr
    assert "Traceback" not in run.stderr


def test_unset_env_variable_is_an_error_naming_it(tmp_path: Path) -> None:
    path = write(
        tmp_path / "opencode.toml",
        '[provider.a]\napi = "openai"\nbase_url = "http://127.0.0.1:1/v1"\n'
        'api_key = "{env:OPENCODE_TEST_UNSET_VAR}"\n',
    )
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path}:4: key provider.a.api_key: ")
    assert "OPENCODE_TEST_UNSET_VAR is not set" in message
    assert "{env:OPENCODE_TEST_UNSET_VAR:-DEFAULT}" in message
    run = opencode(tmp_path, "run", "hi")
    assert run.code == 2
    assert "OPENCODE_TEST_UNSET_VAR is not set" in run.stderr and f"{path}:4" in run.stderr
    assert "Traceback" not in run.stderr


def test_env_default_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path / "opencode.toml",
        'system_prompt = "{env:OPENCODE_TEST_PROMPT:-be brief}"\n'
        '[provider.a]\napi = "openai"\nbase_url = "http://127.0.0.1:1/v1"\n'
        'api_key = "{env:OPENCODE_TEST_KEY:-}"\n',
    )
    monkeypatch.delenv("OPENCODE_TEST_PROMPT", raising=False)
    monkeypatch.delenv("OPENCODE_TEST_KEY", raising=False)
    config = load_config(tmp_path)
    assert config.system_prompt == "be brief"
    assert config.providers["a"].api_key is None
    monkeypatch.setenv("OPENCODE_TEST_PROMPT", "")
    assert load_config(tmp_path).system_prompt == "be brief"  # empty counts as unset, as in sh
    monkeypatch.setenv("OPENCODE_TEST_PROMPT", "be thorough")
    monkeypatch.setenv("OPENCODE_TEST_KEY", "sk-set")
    config = load_config(tmp_path)
    assert config.system_prompt == "be thorough"
    assert config.providers["a"].api_key == "sk-set"


def test_builtin_providers_load_without_their_key_variables(tmp_path: Path) -> None:
    # conftest removes OPENAI_API_KEY & co: the built-ins use {env:VAR:-}, so no error.
    config = load_config(tmp_path)
    assert config.providers["openai"].api_key is None


def test_unknown_keys_warn_with_the_closest_known_key(tmp_path: Path) -> None:
    path = write(
        tmp_path / "opencode.toml",
        'modle = "a/b"\n[provider.x]\napi = "openai"\nbase_url = "http://127.0.0.1:1/v1"\n'
        "tiemout = 5\nthreads = 2\n[zzqqxx]\nvalue = 1\n",
    )
    warnings: list[str] = []
    config = load_config(tmp_path, warn=warnings.append)
    assert config.providers["x"].timeout == 120  # the typo did not set it
    assert warnings[0] == (
        f"opencode: warning: {path}:1: unknown key 'modle' is ignored; did you mean 'model'?"
    )
    assert warnings[1].startswith(f"opencode: warning: {path}:7: unknown key 'zzqqxx'")
    assert "known keys: " in warnings[1]
    assert warnings[2] == (
        f"opencode: warning: {path}:5: unknown key 'tiemout' in [provider.x] is ignored; "
        "did you mean 'timeout'?"
    )
    assert len(warnings) == 3, "threads is a known provider option"


def test_cli_warns_about_a_typo_on_stderr_and_goes_on(tmp_path: Path) -> None:
    path = write(tmp_path / "opencode.toml", "max_step = 3\n")
    run = opencode(tmp_path, "session", "list", "--format", "json")
    assert run.code == 0
    assert run.stdout.strip() == "[]"
    assert (
        f"opencode: warning: {path}:1: unknown key 'max_step' is ignored; "
        "did you mean 'max_steps'?" in run.stderr
    )
