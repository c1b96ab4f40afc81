"""Resilience keys in opencode.toml: read from a real file, every mistake a ConfigError naming
the key (exit 2 at start-up, never a surprise mid-turn)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.sessions.config import ConfigError
from opencode.sessions.providers.resilience.settings import Price, load_settings
from tests.resilience.helpers import make_config, provider_toml

URL = "http://127.0.0.1:9"


def settings_of(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    return load_settings(make_config(tmp_path, text))


def test_chain_is_provider_list_then_nested_then_global(tmp_path: Path) -> None:
    text = (
        'fallback = ["c/m3", "b/m2"]\n'
        + provider_toml("a", URL, 'fallback = ["a/small", "b/m2"]')
        + provider_toml("b", URL, 'fallback = ["c/m9"]\nrpm = 30\ntpm = 10000')
        + provider_toml("c", URL)
    )
    settings = settings_of(tmp_path, text)
    refs = [e.ref for e in settings.chain("a", "big")]
    assert refs == ["a/big", "a/small", "b/m2", "c/m9", "c/m3"]
    policy = settings.policy("b")
    assert (policy.rpm, policy.tpm, policy.failure_threshold, policy.cooldown_s) == (
        30,
        10000,
        3,
        30.0,
    )
    # an entry already in the chain is not tried twice
    assert [e.ref for e in settings.chain("c", "m3")] == ["c/m3", "b/m2", "c/m9"]


@pytest.mark.parametrize(
    ("extra", "top", "words"),
    [
        ('fallback = ["ghost/x"]', "", ["provider.a.fallback[0]", "unknown provider 'ghost'"]),
        ('fallback = "b/m2"', "", ["provider.a.fallback", "a list"]),
        ('fallback = ["b"]', "", ["provider.a.fallback[0]", "PROVIDER/MODEL"]),
        ('fallback = ["b/m2", "b/m2"]', "", ["provider.a.fallback[1]", "listed twice"]),
        ("failure_threshold = -1", "", ["provider.a.failure_threshold", "positive integer"]),
        ("failure_threshold = 0", "", ["provider.a.failure_threshold", "positive integer"]),
        ("cooldown_s = -5", "", ["provider.a.cooldown_s", "positive number"]),
        ("rpm = -10", "", ["provider.a.rpm", "positive integer"]),
        ("tpm = 1.5", "", ["provider.a.tpm", "positive integer"]),
        ("rpm = true", "", ["provider.a.rpm"]),
        ("check_models = 1", "", ["provider.a.check_models", "true or false"]),
        ("", 'fallback = ["nope/x"]', ["key fallback[0]", "unknown provider 'nope'"]),
        ("", "models_ttl_s = -1", ["models_ttl_s", "positive number"]),
    ],
)
def test_bad_keys_name_the_key(tmp_path: Path, extra: str, top: str, words: list[str]) -> None:
    text = top + "\n" + provider_toml("a", URL, extra) + provider_toml("b", URL)
    with pytest.raises(ConfigError) as info:
        settings_of(tmp_path, text)
    message = str(info.value)
    assert "opencode.toml" in message
    for word in words:
        assert word in message


def test_a_chain_that_loops_is_refused(tmp_path: Path) -> None:
    text = (
        provider_toml("a", URL, 'fallback = ["b/m2"]')
        + provider_toml("b", URL, 'fallback = ["c/m3"]')
        + provider_toml("c", URL, 'fallback = ["a/m1"]')
    )
    with pytest.raises(ConfigError, match=r"loops \(a -> b -> c -> a\)"):
        settings_of(tmp_path, text)


def test_prices_are_read_and_checked(tmp_path: Path) -> None:
    good = '[provider.a.price."gpt-4o"]\ninput = 2.5\noutput = 10\n'
    settings = settings_of(tmp_path, provider_toml("a", URL) + good)
    assert settings.policy("a").prices == {"gpt-4o": Price(2.5, 10.0, None)}
    assert settings.policy("a").prices["gpt-4o"].cost(1_000_000, 100_000) == pytest.approx(3.5)
    for bad, word in [
        ('[provider.a.price."x"]\ninput = 1\n', "missing output"),
        ('[provider.a.price."x"]\ninput = -1\noutput = 1\n', 'price."x".input'),
        ('[provider.a.price."x"]\ninput = 1\noutput = 1\nextra = 2\n', "extra"),
    ]:
        with pytest.raises(ConfigError, match=word):
            settings_of(tmp_path, provider_toml("a", URL) + bad)
