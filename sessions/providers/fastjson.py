"""JSON on the hot path of a stream (one small object per SSE event, hundreds of thousands in a
long reply): orjson when it is installed, the standard library otherwise.

orjson is stricter than the standard library in one way that matters here: it refuses lone
UTF-16 surrogates (``"\\ud800"``), which models do emit when a character is split. Those inputs
fall back to the standard library, so the values and errors callers see are the same either
way (``json.JSONDecodeError``, which orjson's error subclasses).
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; this keeps a broken one usable
    orjson = None  # type: ignore[assignment]


def loads(data: str | bytes) -> Any:
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # invalid JSON, or valid JSON orjson refuses: the standard library decides
    return json.loads(data)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    if orjson is not None:
        try:
            return orjson.dumps(value)
        except TypeError:  # a lone surrogate: escape it as the standard library does
            pass
    return json.dumps(value, separators=(",", ":")).encode()
