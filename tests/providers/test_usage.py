"""Usage normalisation across wire formats."""

from __future__ import annotations

from opencode.sessions.events import Usage
from opencode.sessions.providers.usage import normalize_usage


def test_openai_prompt_and_completion_with_cached_details() -> None:
    raw = {
        "prompt_tokens": 1200,
        "completion_tokens": 30,
        "total_tokens": 1230,
        "prompt_tokens_details": {"cached_tokens": 1024},
    }
    assert normalize_usage(raw) == Usage(1200, 30, cache_read_tokens=1024)


def test_openai_without_details_or_with_null_details() -> None:
    assert normalize_usage({"prompt_tokens": 5, "completion_tokens": 2}) == Usage(5, 2)
    raw = {"prompt_tokens": 5, "completion_tokens": 2, "prompt_tokens_details": None}
    assert normalize_usage(raw) == Usage(5, 2)


def test_anthropic_start_and_delta_merge_without_double_counting_output() -> None:
    start = {
        "input_tokens": 472,
        "cache_creation_input_tokens": 1024,
        "cache_read_input_tokens": 2048,
        "output_tokens": 1,
    }
    delta = {"output_tokens": 89}  # cumulative, per the Messages streaming docs
    assert normalize_usage(start, delta) == Usage(
        input_tokens=472 + 1024 + 2048,
        output_tokens=89,
        cache_read_tokens=2048,
        cache_write_tokens=1024,
    )


def test_anthropic_delta_with_null_cache_fields_keeps_start_values() -> None:
    start = {"input_tokens": 10, "cache_read_input_tokens": 90, "output_tokens": 1}
    delta = {"input_tokens": 10, "cache_read_input_tokens": None, "output_tokens": 7}
    assert normalize_usage(start, delta) == Usage(100, 7, cache_read_tokens=90)


def test_ollama_eval_counts() -> None:
    assert normalize_usage({"prompt_eval_count": 26, "eval_count": 290}) == Usage(26, 290)


def test_nothing_recognisable_is_none() -> None:
    assert normalize_usage(None) is None
    assert normalize_usage({}) is None
    assert normalize_usage({"total_duration": 5}) is None


def test_garbage_values_count_as_zero() -> None:
    raw = {"prompt_tokens": "many", "completion_tokens": -3}
    assert normalize_usage(raw) == Usage(0, 0)
