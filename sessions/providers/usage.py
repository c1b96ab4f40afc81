"""Token usage of every wire format, normalised to ``events.Usage``.

One meaning across providers: ``input_tokens`` counts every prompt token the model processed,
cached or not; ``cache_read_tokens`` / ``cache_write_tokens`` say how many of those were read
from / written to the provider's prompt cache. OpenAI's ``prompt_tokens`` already includes its
cached tokens; Anthropic reports uncached ``input_tokens`` beside the cache counts, so they are
added up here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opencode.sessions.events import Usage


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float):
        return max(int(value), 0)
    return 0


def merge_usage_dicts(*raws: Mapping[str, Any] | None) -> dict[str, Any]:
    """Combine usage objects reported at several points of one reply.

    Later values win key by key: Anthropic's ``message_delta`` counts are cumulative, so adding
    them to ``message_start``'s would count the output twice.
    """
    merged: dict[str, Any] = {}
    for raw in raws:
        if not raw:
            continue
        for key, value in raw.items():
            if value is not None:
                merged[key] = value
    return merged


def normalize_usage(*raws: Mapping[str, Any] | None) -> Usage | None:
    """Turn one or more raw usage objects (OpenAI, Anthropic or Ollama) into ``Usage``.

    Returns None when nothing recognisable was reported, so adapters can omit the event.
    """
    raw = merge_usage_dicts(*raws)
    if not raw:
        return None
    if "prompt_tokens" in raw or "completion_tokens" in raw:  # OpenAI chat completions
        details = raw.get("prompt_tokens_details") or {}
        cached = _int(details.get("cached_tokens")) if isinstance(details, Mapping) else 0
        cached = cached or _int(raw.get("cached_tokens"))  # some OpenAI-compatible servers
        return Usage(
            input_tokens=_int(raw.get("prompt_tokens")),
            output_tokens=_int(raw.get("completion_tokens")),
            cache_read_tokens=cached,
        )
    if "prompt_eval_count" in raw or "eval_count" in raw:  # Ollama
        return Usage(
            input_tokens=_int(raw.get("prompt_eval_count")),
            output_tokens=_int(raw.get("eval_count")),
        )
    if "input_tokens" in raw or "output_tokens" in raw:  # Anthropic (and OpenAI Responses)
        cache_read = _int(raw.get("cache_read_input_tokens"))
        cache_write = _int(raw.get("cache_creation_input_tokens"))
        details = raw.get("input_tokens_details")
        if isinstance(details, Mapping) and not (cache_read or cache_write):
            # OpenAI Responses: input_tokens already includes the cached ones.
            cached = _int(details.get("cached_tokens"))
            return Usage(_int(raw.get("input_tokens")), _int(raw.get("output_tokens")), cached)
        return Usage(
            input_tokens=_int(raw.get("input_tokens")) + cache_read + cache_write,
            output_tokens=_int(raw.get("output_tokens")),
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
        )
    return None
