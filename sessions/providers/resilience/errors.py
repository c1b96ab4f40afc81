"""What kind of failure a ``ProviderError`` is, and what the chain does about each kind.

The adapters phrase errors for people; this reads them back into a small set of classes:

=============== ============================ ======== ========= ==============
class           from                         fallback retry     breaker counts
=============== ============================ ======== ========= ==============
connect         refused, DNS, hung up         yes      last only yes
timeout         connect/read/first-token, 408 yes      last only yes
server_error    5xx                           yes      last only yes
overloaded      529, ``overloaded_error``     yes      last only yes
rate_limited    429                           yes      last only yes
context_length  400/413 "context length"      yes      no        no
stream_cut      cut before any content        yes      last only yes
(stream_cut)    cut after content began       no       no        yes
auth            401, 403                      no       no        no
bad_request     other 4xx                     no       no        no
not_found       404                           no       no        no
=============== ============================ ======== ========= ==============

"retry: last only" — with a next entry in the chain the failure moves on at once (a dead host
will not come back in half a second, and the breaker remembers it); the last entry spends its
provider's ``max_retries`` with backoff, honouring ``Retry-After`` up to 60 s.
"""

from __future__ import annotations

import re

from opencode.sessions.events import ProviderError

FALLBACK = frozenset(
    {
        "connect",
        "timeout",
        "server_error",
        "overloaded",
        "rate_limited",
        "context_length",
        "stream_cut",
    }
)
RETRY = frozenset(
    {"connect", "timeout", "server_error", "overloaded", "rate_limited", "stream_cut"}
)
BREAKER = frozenset(
    {"connect", "timeout", "server_error", "overloaded", "rate_limited", "stream_cut"}
)

_CONTEXT = re.compile(
    r"context[_ ]length|context window|context size|maximum context|prompt is too long|"
    r"too many tokens|reduce the length|input is too long|exceeds? the (available )?context",
    re.IGNORECASE,
)


def classify(error: ProviderError) -> str:
    status = error.status
    text = error.message.lower()
    if status is None:
        if "overloaded" in text:
            return "overloaded"
        if _CONTEXT.search(error.message):
            return "context_length"
        if "timed out connecting" in text or "no data from" in text or "no first token" in text:
            return "timeout"
        if "could not connect" in text or "without a response" in text:
            return "connect"
        if "cut off" in text:
            return "stream_cut"
        if "rate limit" in text or "rate_limit" in text:
            return "rate_limited"
        return "other"
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate_limited"
    if status == 529 or "overloaded" in text:
        return "overloaded"
    if status in (400, 413, 422) and _CONTEXT.search(error.message):
        return "context_length"
    if status == 413:
        return "context_length"
    if status == 404:
        return "not_found"
    if status in (408, 409):
        return "timeout"
    if status >= 500:
        return "server_error"
    return "bad_request"


def retry_after(error: ProviderError) -> float | None:
    """How long the server asked to wait (seconds), as the transport read it from the reply's
    headers; None when it did not say."""
    return error.retry_after


_REASONS = {
    "connect": "connection failed",
    "timeout": "timeout",
    "overloaded": "overloaded",
    "rate_limited": "rate limited",
    "context_length": "context too long",
    "stream_cut": "stream cut",
    "auth": "not authorised",
    "bad_request": "request rejected",
    "not_found": "not found",
}


def reason(error: ProviderError, kind: str | None = None) -> str:
    """A few words for a status line: "rate limited", "server error 503", "timeout"."""
    kind = kind or classify(error)
    if kind == "server_error":
        return f"server error {error.status}" if error.status else "server error"
    return _REASONS.get(kind, f"HTTP {error.status}" if error.status else "error")
