"""The stream's JSON helpers give the standard library's values and errors, including for what
orjson alone would refuse."""

from __future__ import annotations

import json

import pytest

from opencode.sessions.providers import fastjson


@pytest.mark.parametrize(
    "text",
    [
        '{"choices":[{"delta":{"content":"héllo ✓"}}]}',
        '{"a": [1, 2.5, null, true, "x"]}',
        '{"s": "\\ud800 split surrogate"}',
        '"plain"',
    ],
)
def test_loads_matches_the_standard_library(text: str) -> None:
    assert fastjson.loads(text) == json.loads(text)
    assert fastjson.loads(text.encode()) == json.loads(text)


def test_invalid_json_raises_the_standard_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        fastjson.loads(b'{"cut": ')


def test_dumps_round_trips_even_lone_surrogates() -> None:
    for value in ({"content": "héllo ✓"}, {"content": "\ud800 half"}, [1, None, "x"]):
        assert json.loads(fastjson.dumps(value)) == value
