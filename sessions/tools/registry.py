"""The built-in tool set, its specs for the provider, argument checking and safe execution.

``parse_arguments`` checks the model's JSON against the tool's own schema (required keys,
basic types, enum, minimum/maximum) without a jsonschema dependency. Keys the schema does not
name are dropped, since models add stray ones (``description``, ``explanation``). Small,
unambiguous slips are coerced: ``"10"`` or ``10.0`` for an integer, ``"true"`` for a boolean.
``execute`` turns every failure into an error result the model can read, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from opencode.sessions.providers.base import ToolSpec
from opencode.sessions.tools.base import Tool, ToolContext, ToolError, ToolResult

if TYPE_CHECKING:
    from opencode.sessions.config import SandboxConfig

_JSON_TYPES: dict[str, str] = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "an array",
    "object": "an object",
}


def builtin_tools(sandbox: SandboxConfig | None = None) -> dict[str, Tool]:
    """The built-in tools; bash runs under ``sandbox`` (the session's snapshot of
    ``[sandbox]``; None: the defaults)."""
    from opencode.sessions.tools.files import EditTool, ReadTool, WriteTool
    from opencode.sessions.tools.rag_search import RagSearchTool
    from opencode.sessions.tools.search import GlobTool, GrepTool, ListTool
    from opencode.sessions.tools.shell import BashTool
    from opencode.sessions.tools.todo import TodoReadTool, TodoWriteTool

    tools: list[Tool] = [
        ReadTool(),
        WriteTool(),
        EditTool(),
        BashTool(sandbox),
        GlobTool(),
        GrepTool(),
        ListTool(),
        RagSearchTool(),
        TodoWriteTool(),
        TodoReadTool(),
    ]
    return {tool.name: tool for tool in tools}


def tool_specs(tools: Iterable[Tool]) -> list[ToolSpec]:
    return [ToolSpec(t.name, t.description, t.parameters) for t in tools]


def parse_arguments(tool: Tool, raw_json: str) -> dict[str, Any]:
    """The model's argument text -> a checked dict, or ToolError saying what to fix."""
    schema = tool.parameters
    if not raw_json or not raw_json.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(raw_json)
        except json.JSONDecodeError as exc:
            raise ToolError(
                f"{tool.name}: the arguments are not valid JSON ({exc.msg} at line {exc.lineno} "
                f"column {exc.colno}); send one JSON object with the keys "
                f"{_key_list(schema)}"
            ) from None
    if not isinstance(data, dict):
        raise ToolError(
            f"{tool.name}: the arguments must be a JSON object with the keys "
            f"{_key_list(schema)}, got {_json_type(data)}"
        )
    properties: dict[str, Any] = schema.get("properties", {})
    missing = [k for k in schema.get("required", []) if data.get(k) is None]
    if missing:
        raise ToolError(
            f"{tool.name}: missing required argument{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(k) for k in missing)}; required: "
            f"{', '.join(schema.get('required', []))}"
        )
    args: dict[str, Any] = {}
    # MCP tools: the server checks its own schema, which may name keys ours no longer does.
    keep_unknown = bool(getattr(tool, "keeps_unknown_arguments", False))
    for key, value in data.items():
        prop = properties.get(key)
        if prop is None and keep_unknown and value is not None:
            args[key] = value
            continue
        if prop is None or value is None:
            continue  # unknown keys and explicit nulls for optional keys are dropped
        args[key] = _check(tool.name, key, prop, value)
    return args


async def execute(tool: Tool, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    """Run the tool; its refusals and unexpected failures become ``is_error`` results."""
    try:
        return await tool.run(args, ctx)
    except ToolError as exc:
        return ToolResult(str(exc), is_error=True)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - the model reads it; the loop must go on
        return ToolResult(
            f"{tool.name} failed: {type(exc).__name__}: {exc}",
            is_error=True,
            metadata={"exception": type(exc).__name__},
        )


def _check(tool: str, key: str, prop: dict[str, Any], value: Any) -> Any:
    expected = prop.get("type")
    if isinstance(expected, str):
        value = _coerce(tool, key, expected, value)
    enum = prop.get("enum")
    if enum is not None and value not in enum:
        raise ToolError(
            f"{tool}: argument {key!r} must be one of {', '.join(map(str, enum))}, got {value!r}"
        )
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = prop.get("minimum"), prop.get("maximum")
        if low is not None and value < low:
            raise ToolError(f"{tool}: argument {key!r} must be at least {low}, got {value}")
        if high is not None and value > high:
            raise ToolError(f"{tool}: argument {key!r} must be at most {high}, got {value}")
    return value


def _coerce(tool: str, key: str, expected: str, value: Any) -> Any:
    ok = False
    if expected == "string":
        ok = isinstance(value, str)
    elif expected == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        ok = isinstance(value, bool)
    elif expected == "integer":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif expected == "number":
        if isinstance(value, str):
            try:
                return float(value) if any(c in value for c in ".eE") else int(value)
            except ValueError:
                pass
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif expected == "array":
        ok = isinstance(value, list)
    elif expected == "object":
        ok = isinstance(value, dict)
    else:
        ok = True
    if not ok:
        raise ToolError(
            f"{tool}: argument {key!r} must be {_JSON_TYPES.get(expected, expected)}, "
            f"got {_json_type(value)} {_short(value)}"
        )
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _key_list(schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    keys = [k if k in required else f"{k} (optional)" for k in schema.get("properties", {})]
    return ", ".join(keys) or "(none)"
