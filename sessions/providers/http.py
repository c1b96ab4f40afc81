"""Shared HTTP plumbing for the wire adapters.

Owns: one ``httpx.AsyncClient`` per provider (timeouts from ``ProviderConfig.timeout``, a
shorter connect timeout), request headers (the api key goes into headers only and is scrubbed
from every message), retries with exponential backoff and jitter that honour ``Retry-After``
(429, 5xx and connection failures only, and only before any of the body was consumed), and the
translation of every HTTP failure into a ``ProviderError`` that says what happened, where, and
what to do.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import json
import logging
import random
import re
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial
from http import HTTPStatus
from typing import Any

import httpx

from opencode.sessions.events import ProviderError
from opencode.sessions.providers.base import ProviderConfig
from opencode.sessions.providers.stream_reader import (
    LineReader,
    StreamFault,
    StreamLimits,
    stream_limits,
)
from opencode.sessions.secrets import redact_url

log = logging.getLogger(__name__)

USER_AGENT = "opencode-py"
CONNECT_TIMEOUT = 10.0
ERROR_BODY_LIMIT = 64 * 1024
ERROR_TEXT_CHARS = 400
BACKOFF_BASE = 0.5
BACKOFF_MAX = 8.0
RETRY_AFTER_MAX = 60.0
EXCERPT_CHARS = 120


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def provider_error_text(body: bytes) -> str:
    """The provider's own words from an error body: OpenAI/Anthropic ``{"error":{"message"}}``,
    Ollama ``{"error":"..."}``, FastAPI ``{"detail":...}``, or the plain text, truncated."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return ""
    try:
        data: Any = json.loads(text)
    except ValueError:
        if text.lstrip().startswith("<"):  # an HTML error page: keep its visible words
            text = re.sub(r"<[^>]+>", " ", text)
        return excerpt(text, ERROR_TEXT_CHARS)
    if isinstance(data, list) and data:
        data = data[0]
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            message = error.get("message") or error.get("detail") or error.get("msg")
            if message is None and error is not data:
                message = json.dumps(error)
            kind = error.get("type") or error.get("code")
            if message is not None:
                text = str(message)
                if isinstance(kind, str) and kind and kind not in text:
                    text = f"{text} ({kind})"
                return excerpt(text, ERROR_TEXT_CHARS)
        elif isinstance(error, str):
            return excerpt(error, ERROR_TEXT_CHARS)
        detail = data.get("detail") or data.get("message")
        if detail is not None:
            return excerpt(
                detail if isinstance(detail, str) else json.dumps(detail), ERROR_TEXT_CHARS
            )
    return excerpt(text, ERROR_TEXT_CHARS)


def synth_call_id(index: int) -> str:
    """An id for a tool call the server sent without one."""
    return f"call_{index}_{secrets.token_hex(6)}"


def merge_extra(body: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``request.extra`` goes in last; a key set to None removes the default."""
    for key, value in extra.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse ``Retry-After`` as seconds or an HTTP date; None when absent or unparseable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    reference = time.time() if now is None else now
    return max(float(when.timestamp()) - reference, 0.0)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_DURATIONS = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|h|m|s))+")
# A provider's own reset headers, paired with the "remaining" header that says which limit ran
# out: OpenAI (``6m0s``, ``20ms`` durations) and Anthropic (RFC 3339 timestamps).
_RESET_HEADERS = (
    ("x-ratelimit-reset-requests", "x-ratelimit-remaining-requests"),
    ("x-ratelimit-reset-tokens", "x-ratelimit-remaining-tokens"),
    ("anthropic-ratelimit-requests-reset", "anthropic-ratelimit-requests-remaining"),
    ("anthropic-ratelimit-tokens-reset", "anthropic-ratelimit-tokens-remaining"),
    ("anthropic-ratelimit-input-tokens-reset", "anthropic-ratelimit-input-tokens-remaining"),
    ("anthropic-ratelimit-output-tokens-reset", "anthropic-ratelimit-output-tokens-remaining"),
)


def reset_seconds(value: str | None, now: float | None = None) -> float | None:
    """A rate-limit reset header: an OpenAI duration (``1s``, ``6m0s``, ``20ms``,
    ``1h2m3.5s``), an RFC 3339 / HTTP date, or plain seconds; None when unparseable."""
    if not value:
        return None
    value = value.strip()
    if _DURATIONS.fullmatch(value):
        unit = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
        return sum(float(n) * unit[u] for n, u in _DURATION.findall(value))
    try:  # RFC 3339, as Anthropic sends it
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return retry_after_seconds(value, now)  # seconds, or an HTTP date
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    reference = time.time() if now is None else now
    return max(when.timestamp() - reference, 0.0)


def server_wait(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """How long the server asks us to wait, in seconds: ``Retry-After`` (seconds or an HTTP
    date), ``retry-after-ms``, else the reset time of the limit that ran out (the longest one
    when none says it ran out); None when the response says nothing about it."""
    lowered = {k.lower(): v for k, v in headers.items()}
    after = retry_after_seconds(lowered.get("retry-after"), now)
    if after is not None:
        return after
    millis = lowered.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    exhausted: list[float] = []
    others: list[float] = []
    for reset_key, remaining_key in _RESET_HEADERS:
        seconds = reset_seconds(lowered.get(reset_key), now)
        if seconds is None:
            continue
        (exhausted if lowered.get(remaining_key, "").strip() == "0" else others).append(seconds)
    found = exhausted or others
    return max(found) if found else None


def backoff_delay(attempt: int) -> float:
    """Exponential backoff with jitter for retry ``attempt`` (0-based)."""
    base = min(BACKOFF_BASE * (2.0**attempt), BACKOFF_MAX)
    return base + random.uniform(0, base / 2)


class HttpTransport:
    """One provider's HTTP client, headers, retry policy and error phrasing."""

    def __init__(self, config: ProviderConfig, headers: Mapping[str, str] | None = None) -> None:
        self.config = config
        self._headers = {"user-agent": USER_AGENT, "content-type": "application/json"}
        self._headers.update({k.lower(): v for k, v in (headers or {}).items()})
        self._headers.update({k.lower(): v for k, v in config.headers.items()})
        self._client: httpx.AsyncClient | None = None

    # ------------------------------------------------------------------ client

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            timeout = httpx.Timeout(
                self.config.timeout, connect=min(CONNECT_TIMEOUT, self.config.timeout)
            )
            # A plain-http base URL (local servers) never negotiates TLS, so skip building a
            # verifying SSL context: loading the CA bundle costs 30-75 ms of start-up.
            # Redirects are not followed, so the client cannot end up on https here.
            plain = self.config.base_url.startswith("http://")
            self._client = httpx.AsyncClient(
                timeout=timeout, headers=self._headers, verify=not plain
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + "/" + path.lstrip("/")

    # ------------------------------------------------------------------ secrets

    def redact(self, text: str) -> str:
        secrets = [self.config.api_key or ""]
        secrets += [v for k, v in self._headers.items() if _is_secret_header(k)]
        for secret in secrets:
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
                if secret.lower().startswith("bearer "):
                    text = text.replace(secret[7:], "***")
        return redact_url(text)  # a base_url like https://user:password@host

    def error(
        self,
        message: str,
        *,
        url: str,
        status: int | None = None,
        retryable: bool = False,
        hint: str | None = None,
        code: str | None = None,
    ) -> ProviderError:
        return ProviderError(
            message=self.redact(message),
            status=status,
            retryable=retryable,
            hint=self.redact(hint) if hint else None,
            url=self.redact(url),
            code=code,
        )

    # ------------------------------------------------------------------ opening a stream

    @asynccontextmanager
    async def open(
        self, url: str, body: dict[str, Any], *, model: str | None = None
    ) -> AsyncIterator[httpx.Response | ProviderError]:
        """POST ``body`` and yield the streaming 2xx response, or the ``ProviderError``.

        Retries 429/5xx replies and connection failures with backoff; nothing of a 2xx body has
        been read when the response is handed over, and nothing is retried after that.
        """
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        attempt = 0
        while True:
            request = self.client.build_request("POST", url, content=payload)
            try:
                response = await self.client.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                # RemoteProtocolError here means the server hung up before any response line
                # (a stale keep-alive connection, a crashing server): safe to send again.
                if attempt < self.config.max_retries:
                    delay = backoff_delay(attempt)
                    attempt += 1
                    log.info(
                        "%s: %s, retry %d in %.1fs",
                        self.config.name,
                        type(exc).__name__,
                        attempt,
                        delay,
                    )
                    await asyncio.sleep(delay)
                    continue
                yield self.connect_error(exc, url)
                return
            except httpx.HTTPError as exc:
                yield self.stream_error(exc, url)
                return
            if response.is_success:
                try:
                    yield response
                finally:
                    await response.aclose()
                return
            raw = await _read_capped(response)
            await response.aclose()
            error = self.status_error(response, raw, url, model)
            wait = self._retry_wait(response, attempt)
            if error.retryable and wait is not None:
                attempt += 1
                log.info(
                    "%s: HTTP %d, retry %d in %.1fs",
                    self.config.name,
                    response.status_code,
                    attempt,
                    wait,
                )
                await asyncio.sleep(wait)
                continue
            yield error
            return

    def _retry_wait(self, response: httpx.Response, attempt: int) -> float | None:
        if attempt >= self.config.max_retries:
            return None
        after = server_wait(response.headers) if response.status_code == 429 else None
        if after is None:
            after = retry_after_seconds(response.headers.get("retry-after"))
        if after is None:
            return backoff_delay(attempt)
        if after > RETRY_AFTER_MAX:
            return None  # not worth blocking the turn; the error says how long
        return after + random.uniform(0, 0.1)

    # ------------------------------------------------------------------ error phrasing

    def status_error(
        self, response: httpx.Response, raw: bytes, url: str, model: str | None = None
    ) -> ProviderError:
        status = response.status_code
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = response.reason_phrase or ""
        text = provider_error_text(raw)
        message = f"{self.config.name}: HTTP {status} {phrase} from {url}"
        if text:
            message += f": {text}"
        name = self.config.name
        retryable = status == 429 or status >= 500
        # A provider's reset headers come on every reply; only a 429 means one ran out.
        after = (
            server_wait(response.headers)
            if status == 429
            else retry_after_seconds(response.headers.get("retry-after"))
        )
        hint: str
        if status in (401, 403):
            if self.config.api_key:
                hint = (
                    f"check api_key for provider {name} in opencode.toml "
                    f"([provider.{name}] api_key) or the env var it references"
                )
            else:
                hint = (
                    f"provider {name} has no api_key: set api_key in [provider.{name}] "
                    'of opencode.toml (e.g. api_key = "{env:MY_API_KEY}") and export it'
                )
        elif status == 404:
            model_note = f" and model name {model!r}" if model else " and model name"
            hint = f"check base_url ({self.config.base_url}){model_note} for provider {name}"
        elif status == 429:
            wait = f" (the server asks to wait {after:.0f} s)" if after is not None else ""
            hint = f"rate limited{wait}: wait and try again, or raise [provider.{name}] max_retries"
        elif status >= 500:
            hint = f"server error at {self.config.base_url}: try again later or check its log"
        elif status in (400, 422):
            hint = (
                f"the server rejected the request: check the model name and the options "
                f"of [provider.{name}] (max_tokens, extra_body)"
            )
        elif status == 413:
            hint = "the request is too large: start a new session or lower the context"
        elif 300 <= status < 400:
            location = response.headers.get("location", "")
            hint = (
                f"the server redirects to {location or 'another URL'}: "
                f"set [provider.{name}] base_url to the final URL"
            )
        else:
            hint = f"check [provider.{name}] in opencode.toml"
        error = self.error(message, url=url, status=status, retryable=retryable, hint=hint)
        error.retry_after = after
        return error

    def connect_error(self, exc: Exception, url: str) -> ProviderError:
        name = self.config.name
        if isinstance(exc, httpx.ConnectTimeout):
            what = f"timed out connecting to {url}"
        elif isinstance(exc, httpx.RemoteProtocolError):
            what = f"the server at {url} closed the connection without a response ({exc})"
        else:
            what = f"could not connect to {url} ({_exc_text(exc)})"
        return self.error(
            f"{name}: {what}",
            url=url,
            retryable=True,
            hint=f"is the server running at {self.config.base_url}? "
            f"check [provider.{name}] base_url in opencode.toml",
        )

    def line_reader(
        self, response: httpx.Response, url: str
    ) -> tuple[LineReader, StreamLimits] | ProviderError:
        """The stream's limits from config and a bounded line reader over ``response``; a
        limit configured wrongly is a ProviderError naming it (every adapter starts here)."""
        try:
            limits = stream_limits(self.config)
        except ValueError as exc:
            return self.error(str(exc), url=url, hint="fix it in opencode.toml")
        return LineReader(response, limits, partial(self.limit_error, url)), limits

    def read_failure(self, exc: StreamFault | httpx.HTTPError, url: str) -> ProviderError:
        """What a failed stream read is told as: a broken limit (already phrased), or a cut
        stream or read timeout."""
        return exc.error if isinstance(exc, StreamFault) else self.stream_error(exc, url)

    def stream_error(self, exc: Exception, url: str) -> ProviderError:
        """A failure after the response began: a cut stream or a read timeout."""
        name = self.config.name
        if isinstance(exc, httpx.TimeoutException):
            return self.error(
                f"{name}: no data from {url} for {self.config.timeout:g} s ({type(exc).__name__})",
                url=url,
                retryable=True,
                hint=f"raise [provider.{name}] timeout in opencode.toml "
                f"(now {self.config.timeout:g} s) if the model is slow",
            )
        if isinstance(exc, httpx.ConnectError):
            return self.connect_error(exc, url)
        return self.error(
            f"{name}: the stream from {url} was cut off mid-reply "
            f"({type(exc).__name__}: {_exc_text(exc)})",
            url=url,
            retryable=True,
            hint="the text received so far is kept; send the message again to retry",
            code="truncated",
        )

    def limit_error(self, url: str, problem: str, key: str) -> ProviderError:
        """The body broke one of the stream limits (a line too long, a deadline)."""
        name = self.config.name
        timed = key != "max_line_bytes"
        return self.error(
            f"{name}: {problem} in the stream from {url}; the text so far is saved",
            url=url,
            retryable=timed,
            hint=f"send the message again to retry; if the server at {self.config.base_url} "
            f"is right to do this, raise [provider.{name}] {key} in opencode.toml",
            code=key,
        )

    def truncated_error(self, url: str, missing: str) -> ProviderError:
        """The body ended (cleanly or not) before the wire format's last event."""
        return self.error(
            f"{self.config.name}: the stream from {url} ended before {missing}: the model had "
            "not finished, and the text so far is saved",
            url=url,
            retryable=True,
            hint="send the message again to retry; if it keeps happening, check the server or "
            f"proxy at {self.config.base_url}",
            code="truncated",
        )

    def format_error(self, url: str, problem: str, data: str) -> ProviderError:
        """The bytes arrived but are not the wire format we expect."""
        return self.error(
            f"{self.config.name}: {problem} from {url}: {excerpt(data)!r}",
            url=url,
            hint=f"check that [provider.{self.config.name}] api = {self.config.api!r} "
            f"matches the server at {self.config.base_url}",
        )


def _is_secret_header(name: str) -> bool:
    # Custom [provider.NAME] headers carry keys too (X-Goog-Api-Key, X-Auth-Token, ...).
    return any(word in name for word in ("auth", "key", "token", "secret", "cookie"))


def _exc_text(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


async def _read_capped(response: httpx.Response) -> bytes:
    data = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) >= ERROR_BODY_LIMIT:
                break
    except httpx.HTTPError:
        pass
    return bytes(data[:ERROR_BODY_LIMIT])
