"""What counts as a secret, and taking secrets out of text before it is stored, shown or sent.

Two kinds of secret reach text that opencode keeps:
- values of the process's secret-looking environment variables (names with KEY, TOKEN,
  SECRET, PASSWORD, ... and every variable that config substituted into an ``api_key`` or a
  header), which a tool can print (``env``, ``cat .envrc``, a failing command echoing a token);
- credentials inside URLs (``https://user:password@host``), e.g. a ``base_url`` that an error
  message quotes.

``scrub`` replaces both with a marker naming what was removed, and is applied to tool output and
error text before they become events (so the store, exports, printers and the model all get the
scrubbed text). Values shorter than ``MIN_SECRET_CHARS`` are left alone: replacing ``1`` or
``true`` everywhere would destroy output and protect nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

# Substrings of an environment variable's name that mark its value as a secret.
SECRET_NAME = re.compile(
    r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|AUTH|COOKIE|SESSION",
    re.IGNORECASE,
)
# Names that match SECRET_NAME but hold no secret (paths, sockets, flags everybody can see).
NOT_SECRET = frozenset({"SSH_AUTH_SOCK", "XAUTHORITY", "GPG_AGENT_INFO", "KEYTIMEOUT"})
MIN_SECRET_CHARS = 8

# scheme://user:password@host: the password part, up to the '@'.
_URL_CREDENTIALS = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@]*:)(?P<pw>[^\s/@]+)@")

# Variables config substituted into an api_key or a header (see sessions.config).
_REFERENCED: set[str] = set()


def remember_secret_env(name: str) -> None:
    """Config calls this for each ``{env:NAME}`` it put into an ``api_key`` or a header."""
    _REFERENCED.add(name)


def is_secret_name(name: str) -> bool:
    return name in _REFERENCED or (name not in NOT_SECRET and bool(SECRET_NAME.search(name)))


def secret_env_names(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """Names of the environment variables whose values are secrets."""
    env = os.environ if environ is None else environ
    return frozenset(_REFERENCED | {name for name in env if is_secret_name(name)})


def secret_values(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Secret value -> the variable it came from, longest values first."""
    env = os.environ if environ is None else environ
    found = {
        value: name
        for name in secret_env_names(env)
        if len(value := env.get(name, "")) >= MIN_SECRET_CHARS
    }
    return dict(sorted(found.items(), key=lambda item: -len(item[0])))


def redact_url(url: str) -> str:
    """``https://me:pw@host/v1`` -> ``https://me:***@host/v1``; anything else unchanged."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m.group('head')}***@", url)


def scrub(text: str, extra: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> str:
    """``text`` with secret environment values, ``extra`` secrets and URL passwords replaced.

    ``extra`` is for secrets that are not in the environment (an api_key written literally in
    opencode.toml).
    """
    if not text:
        return text
    values = secret_values(environ)
    for value in extra:
        if value and len(value) >= 4:
            values.setdefault(value, "config")
    for value, name in sorted(values.items(), key=lambda item: -len(item[0])):
        if value in text:
            text = text.replace(value, f"[redacted {name}]")
    return redact_url(text)
