"""MCP tools under the permission model: ask by default, [permission] mcp, "SERVER_*"
patterns and exact names; deny beats --yes, --allow and session grants."""

from __future__ import annotations

from pathlib import Path

from opencode.sessions.config import PermissionConfig
from opencode.sessions.tools.permissions import McpSubject, Permissions

SUBJECT = McpSubject(subject="github/create_issue", server="github", tool="create_issue")
NAME = "github_create_issue"


def _decide(tools: dict[str, str], **kw: object) -> tuple[str, str]:
    perms = Permissions(PermissionConfig(tools=tools), Path("/tmp"), **kw)  # type: ignore[arg-type]
    return perms.explain(NAME, SUBJECT)


def test_default_is_ask() -> None:
    assert _decide({})[0] == "ask"
    # A tool-wide rule for another tool does not leak onto MCP tools.
    assert _decide({"read": "allow"})[0] == "ask"


def test_mcp_key_pattern_and_exact_name() -> None:
    assert _decide({"mcp": "allow"}) == ("allow", "[permission] mcp")
    assert _decide({"mcp": "allow", "github_*": "ask"}) == ("ask", "[permission] 'github_*'")
    assert _decide({"github_*": "ask", NAME: "allow"}) == ("allow", f"[permission] {NAME}")
    assert _decide({"time_*": "allow"})[0] == "ask"  # another server's pattern


def test_deny_beats_everything() -> None:
    assert _decide({"github_*": "deny", NAME: "allow"}, allow_all=True)[0] == "deny"
    assert _decide({"mcp": "deny"}, allow={NAME})[0] == "deny"
    perms = Permissions(PermissionConfig(tools={"github_*": "deny"}), Path("/tmp"))
    perms.grant_session(NAME, "*")
    assert perms.decide(NAME, SUBJECT) == "deny"


def test_yes_allow_and_grants() -> None:
    assert _decide({}, allow_all=True) == ("allow", "--yes")
    assert _decide({}, allow={"mcp"}) == ("allow", "--allow mcp")
    perms = Permissions(PermissionConfig(), Path("/tmp"))
    perms.grant_session(NAME, SUBJECT)
    assert perms.decide(NAME, SUBJECT) == "allow"
