"""The registry: the built-in set, specs, argument checking and error-safe execution."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opencode.sessions.providers.base import ToolSpec
from opencode.sessions.tools.base import PermissionSubject, ToolContext, ToolError, ToolResult
from opencode.sessions.tools.registry import builtin_tools, execute, parse_arguments, tool_specs


def test_builtin_tools_and_specs() -> None:
    tools = builtin_tools()
    assert sorted(tools) == [
        "bash",
        "edit",
        "glob",
        "grep",
        "list",
        "rag_search",
        "read",
        "todoread",
        "todowrite",
        "write",
    ]
    specs = tool_specs(tools.values())
    assert all(isinstance(s, ToolSpec) for s in specs)
    by_name = {s.name: s for s in specs}
    assert by_name["edit"].parameters["required"] == ["path", "old_string", "new_string"]
    for spec in specs:
        assert spec.parameters["type"] == "object"
        assert len(spec.description) > 40, spec.name
        assert set(spec.parameters.get("required", [])) <= set(spec.parameters["properties"])


def test_parse_arguments_accepts_valid_json_and_drops_unknown_keys() -> None:
    edit = builtin_tools()["edit"]
    args = parse_arguments(
        edit, '{"path": "a.txt", "old_string": "x", "new_string": "y", "why": "because"}'
    )
    assert args == {"path": "a.txt", "old_string": "x", "new_string": "y"}
    assert parse_arguments(builtin_tools()["list"], "") == {}


def test_parse_arguments_invalid_json() -> None:
    with pytest.raises(ToolError) as err:
        parse_arguments(builtin_tools()["read"], '{"path": "a.txt"')
    message = str(err.value)
    assert message.startswith("read: the arguments are not valid JSON (")
    assert "line 1 column 17" in message
    assert "path, offset (optional), limit (optional)" in message


def test_parse_arguments_not_an_object() -> None:
    with pytest.raises(ToolError, match=r"must be a JSON object .* got an array"):
        parse_arguments(builtin_tools()["read"], '["a.txt"]')


def test_parse_arguments_missing_required() -> None:
    with pytest.raises(ToolError) as err:
        parse_arguments(builtin_tools()["edit"], '{"path": "a.txt", "new_string": null}')
    assert str(err.value) == (
        "edit: missing required arguments 'old_string', 'new_string'; "
        "required: path, old_string, new_string"
    )


def test_parse_arguments_wrong_types() -> None:
    read = builtin_tools()["read"]
    with pytest.raises(ToolError) as err:
        parse_arguments(read, '{"path": 3}')
    assert str(err.value) == "read: argument 'path' must be a string, got an integer 3"
    with pytest.raises(ToolError, match="'offset' must be an integer, got a string \"ten\""):
        parse_arguments(read, '{"path": "a", "offset": "ten"}')
    with pytest.raises(ToolError, match="'replace_all' must be true or false, got an integer"):
        parse_arguments(
            builtin_tools()["edit"],
            '{"path": "a", "old_string": "x", "new_string": "y", "replace_all": 1}',
        )


def test_parse_arguments_coerces_unambiguous_slips_and_checks_ranges() -> None:
    read = builtin_tools()["read"]
    assert parse_arguments(read, '{"path": "a", "offset": "10", "limit": 5.0}') == {
        "path": "a",
        "offset": 10,
        "limit": 5,
    }
    with pytest.raises(ToolError, match="'offset' must be at least 1, got 0"):
        parse_arguments(read, '{"path": "a", "offset": 0}')
    bash = builtin_tools()["bash"]
    with pytest.raises(ToolError, match="'timeout' must be at most 600, got 601"):
        parse_arguments(bash, '{"command": "ls", "timeout": 601}')
    edit = builtin_tools()["edit"]
    args = parse_arguments(
        edit, '{"path": "a", "old_string": "x", "new_string": "y", "replace_all": "true"}'
    )
    assert args["replace_all"] is True


class Exploding:
    name = "boom"
    description = "raises"
    parameters: dict[str, Any] = {"type": "object", "properties": {}}

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def permission_subject(self, args: dict[str, Any], cwd: Path) -> PermissionSubject:
        return PermissionSubject("")

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        raise self.exc


async def test_execute_turns_failures_into_error_results(ctx: ToolContext) -> None:
    refused = await execute(Exploding(ToolError("no way")), {}, ctx)
    assert refused == ToolResult("no way", is_error=True)
    crashed = await execute(Exploding(KeyError("missing")), {}, ctx)
    assert crashed.is_error
    assert crashed.output == "boom failed: KeyError: 'missing'"
    assert "Traceback" not in crashed.output


async def test_execute_passes_results_through(ctx: ToolContext, project: Path) -> None:
    (project / "a.txt").write_text("x\n")
    tools = builtin_tools()
    result = await execute(tools["read"], parse_arguments(tools["read"], '{"path":"a.txt"}'), ctx)
    assert not result.is_error and result.output.startswith("    1\tx")
