"""Secret values and URL credentials are taken out of text (sessions.secrets)."""

from __future__ import annotations

from opencode.sessions.secrets import (
    is_secret_name,
    redact_url,
    remember_secret_env,
    scrub,
    secret_env_names,
)

ENV = {
    "GITHUB_TOKEN": "ghp_abcdefghijklmnop",
    "DB_PASSWORD": "hunter2-but-longer",
    "MY_SERVICE_KEY": "svc-0123456789",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG",
    "SHORT_TOKEN": "abc",  # too short to scrub safely
    "SSH_AUTH_SOCK": "/tmp/ssh-agent.sock",  # a path, not a secret
    "HOME": "/home/someone",
    "PLAIN": "ghp_abcdefghijklmnop-not-a-secret-name",
}


def test_secret_names_follow_the_patterns() -> None:
    names = secret_env_names(ENV)
    assert {"GITHUB_TOKEN", "DB_PASSWORD", "MY_SERVICE_KEY", "AWS_SECRET_ACCESS_KEY"} <= names
    assert "HOME" not in names and "SSH_AUTH_SOCK" not in names and "PLAIN" not in names


def test_config_referenced_variables_are_secrets_whatever_their_name() -> None:
    assert not is_secret_name("OPENCODE_UPSTREAM_X1")
    remember_secret_env("OPENCODE_UPSTREAM_X1")
    assert is_secret_name("OPENCODE_UPSTREAM_X1")


def test_scrub_replaces_every_secret_value_and_names_it() -> None:
    text = (
        "GITHUB_TOKEN=ghp_abcdefghijklmnop\n"
        "pw: hunter2-but-longer, key svc-0123456789 aws wJalrXUtnFEMI/K7MDENG\n"
        "short abc stays, home /home/someone stays\n"
    )
    out = scrub(text, environ=ENV)
    for secret in ("ghp_abcdefghijklmnop", "hunter2-but-longer", "svc-0123456789", "wJalrXUtn"):
        assert secret not in out
    assert "[redacted GITHUB_TOKEN]" in out and "[redacted DB_PASSWORD]" in out
    assert "short abc stays" in out and "/home/someone" in out


def test_longer_secret_wins_when_one_contains_another() -> None:
    env = {"A_TOKEN": "abcdefgh", "B_TOKEN": "abcdefgh-ijklmnop"}
    assert scrub("x abcdefgh-ijklmnop y", environ=env) == "x [redacted B_TOKEN] y"


def test_extra_secrets_from_config() -> None:
    assert scrub("key is sk-live-1234 ok", extra=["sk-live-1234"], environ={}) == (
        "key is [redacted config] ok"
    )


def test_url_credentials_are_redacted() -> None:
    assert redact_url("https://me:pa55word@host:8080/v1") == "https://me:***@host:8080/v1"
    assert redact_url("http://127.0.0.1:9/v1") == "http://127.0.0.1:9/v1"
    line = "POST http://u:s3cr3t@127.0.0.1:1234/v1/chat failed; retry http://x:y@h/"
    out = scrub(line, environ={})
    assert "s3cr3t" not in out and ":y@" not in out
    assert "http://u:***@127.0.0.1:1234/v1/chat" in out
