"""Tool schemas made provider-safe, names namespaced, results summarised and capped."""

from __future__ import annotations

import base64
import re

import mcp_types as types

from opencode.sessions.mcp.results import MAX_RESULT_CHARS, result_text
from opencode.sessions.mcp.schema import clean_schema
from opencode.sessions.mcp.tools import tool_name


def test_good_schema_is_kept_as_is() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tz": {"type": "string", "description": "zone"},
            "n": {"type": ["integer", "null"]},
        },
        "required": ["tz"],
    }
    cleaned, fixes = clean_schema(schema)
    assert cleaned == schema and fixes == []


def test_bad_schema_is_repaired_and_says_how() -> None:
    cleaned, fixes = clean_schema(
        {
            "type": "object",
            "properties": {"value": {"type": "strnig"}, "n": {"minimum": "0"}, "x": 5},
            "required": ["missing", "value"],
            "$ref": "#/definitions/nowhere",
        }
    )
    assert cleaned == {
        "type": "object",
        "properties": {"value": {}, "n": {}},
        "required": ["value"],
    }
    assert len(fixes) == 5


def test_non_object_schemas_become_empty_object_schemas() -> None:
    assert clean_schema("nope")[0] == {"type": "object", "properties": {}}
    cleaned, fixes = clean_schema({"type": "string"})
    assert cleaned["type"] == "object" and fixes


def test_refs_into_defs_survive() -> None:
    schema = {
        "type": "object",
        "properties": {"p": {"$ref": "#/$defs/P"}},
        "$defs": {"P": {"type": "string"}},
    }
    assert clean_schema(schema) == (schema, [])


def test_names_are_provider_safe_and_unique_when_cut() -> None:
    pattern = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
    assert tool_name("time", "get_current_time") == "time_get_current_time"
    assert tool_name("x", "do.thing/now") == "x_do_thing_now"
    long_a, long_b = tool_name("server", "a" * 80 + "1"), tool_name("server", "a" * 80 + "2")
    assert pattern.match(long_a) and pattern.match(long_b) and long_a != long_b


def _png() -> str:
    return base64.b64encode(b"\x89PNG" + b"\0" * 64).decode()


def test_text_kept_binary_summarised() -> None:
    result = types.CallToolResult(
        content=[
            types.TextContent(type="text", text="hello"),
            types.ImageContent(type="image", data=_png(), mime_type="image/png"),
            types.EmbeddedResource(
                type="resource", resource=types.TextResourceContents(uri="note://a", text="body")
            ),
            types.EmbeddedResource(
                type="resource",
                resource=types.BlobResourceContents(
                    uri="file:///b.bin", blob=_png(), mime_type="application/x"
                ),
            ),
        ]
    )
    text, meta = result_text(result, [])
    assert "hello" in text and "[image content: image/png, 68 bytes, not shown]" in text
    assert "[resource note://a]\nbody" in text
    assert "[resource file:///b.bin: application/x, 68 bytes, not shown]" in text
    assert _png() not in text
    assert meta["summarised"] == ["image", "resource"]


def test_huge_result_is_capped_with_a_note() -> None:
    result = types.CallToolResult(content=[types.TextContent(type="text", text="y" * 300_000)])
    text, meta = result_text(result, [])
    assert len(text) < MAX_RESULT_CHARS + 200
    assert "200000 more characters cut" in text and meta["original_chars"] == 300_000


def test_structured_only_and_secrets() -> None:
    result = types.CallToolResult(content=[], structured_content={"token": "sk-live-ABCDEFGH"})
    text, _ = result_text(result, ["sk-live-ABCDEFGH"])
    assert "sk-live-ABCDEFGH" not in text and "token" in text


def test_mcp_tools_keep_arguments_their_cleaned_schema_does_not_name() -> None:
    """The server validates against its own schema: keys we dropped from ours still reach it
    (built-in tools drop unknown keys)."""
    from dataclasses import dataclass, field
    from typing import Any

    from opencode.sessions.tools.registry import parse_arguments

    @dataclass
    class Remote:
        name: str = "srv_tool"
        parameters: dict[str, Any] = field(
            default_factory=lambda: {"type": "object", "properties": {"n": {"type": "integer"}}}
        )
        keeps_unknown_arguments: bool = True

    tool = Remote()
    assert parse_arguments(tool, '{"n": "3", "anyOf_key": {"a": 1}}') == {  # type: ignore[arg-type]
        "n": 3,
        "anyOf_key": {"a": 1},
    }
    tool.keeps_unknown_arguments = False
    assert parse_arguments(tool, '{"n": 3, "x": 1}') == {"n": 3}  # type: ignore[arg-type]
