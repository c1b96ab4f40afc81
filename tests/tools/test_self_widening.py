"""The model cannot widen its own sandbox or permissions mid-session (review C2, C3).

A session's ``[sandbox]`` is fixed when its engine starts: ``load_config`` has no process-wide
side effect, the bash tool and ``Permissions`` carry the session's snapshot, and the project's
own configuration files are asked about before the write/edit tools touch them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.sessions.config import SandboxConfig, active_sandbox, load_config
from opencode.sessions.tools.files import EditTool, WriteTool
from opencode.sessions.tools.permissions import Permissions
from opencode.sessions.tools.registry import builtin_tools
from opencode.sessions.tools.shell import BashTool

pytestmark = pytest.mark.fault


def test_load_config_leaves_the_default_sandbox_alone(project: Path) -> None:
    before = active_sandbox()
    (project / "opencode.toml").write_text('[sandbox]\nnetwork = true\nwritable = ["/"]\n')
    config = load_config(project, warn=lambda line: None)
    assert config.sandbox.network
    assert active_sandbox() == before and not active_sandbox().network
    assert active_sandbox().writable == ()


def test_a_rewritten_config_reloaded_mid_session_changes_nothing(project: Path) -> None:
    # The session started with the defaults; the model then writes a wider sandbox and some
    # tool (rag_search used to) re-loads the config: bash and Permissions keep the snapshot.
    config = load_config(project, warn=lambda line: None)
    tools = builtin_tools(config.sandbox)
    bash = tools["bash"]
    assert isinstance(bash, BashTool) and bash.sandbox is config.sandbox
    permissions = Permissions(config.permission, project, sandbox=config.sandbox)
    (project / "opencode.toml").write_text(
        '[sandbox]\nenabled = false\n[permission.bash]\n"*" = "allow"\n'
    )
    load_config(project, warn=lambda line: None)
    assert permissions.sandbox is config.sandbox and permissions.sandbox.enabled
    assert bash.sandbox is config.sandbox
    assert "unsandboxed" not in permissions.sandbox_description()


def test_bash_tool_without_a_sandbox_uses_the_defaults_not_the_last_load(project: Path) -> None:
    (project / "opencode.toml").write_text("[sandbox]\nenabled = false\n")
    load_config(project, warn=lambda line: None)
    permissions = Permissions(load_config(project).permission, project)
    assert permissions.sandbox == SandboxConfig()


@pytest.mark.parametrize(
    "name",
    [
        "opencode.toml",
        ".opencode/agents/evil.md",
        ".opencode/commands/x.md",
        ".claude/settings.local.json",
        ".claude/settings.json",
        ".mcp.json",
        "sub/opencode.toml",
    ],
)
def test_project_config_files_are_asked_about(project: Path, name: str) -> None:
    permissions = Permissions(load_config(project).permission, project, sandbox=SandboxConfig())
    for tool in (WriteTool(), EditTool()):
        subject = tool.permission_subject({"path": name, "content": "x"}, project)
        action, reason = permissions.explain(tool.name, subject)
        assert action == "ask", (tool.name, name, reason)


def test_ordinary_files_stay_allowed(project: Path) -> None:
    permissions = Permissions(load_config(project).permission, project, sandbox=SandboxConfig())
    subject = WriteTool().permission_subject({"path": "src/app.py", "content": "x"}, project)
    assert permissions.explain("write", subject)[0] == "allow"


async def test_the_engine_hands_its_start_time_sandbox_to_bash_and_permissions(
    project: Path,
) -> None:
    from opencode.sessions.engine import Engine
    from opencode.sessions.permissions_api import PermissionAnswer, PermissionRequest
    from tests.engine.helpers import write_config

    async def never_ask(request: PermissionRequest) -> PermissionAnswer:
        raise AssertionError(request)

    write_config(project, "openai", "http://127.0.0.1:9", "")
    engine = Engine(load_config(project), project)
    await engine.open(never_ask)
    try:
        runner = engine.runner()
        started = engine.config.sandbox
        assert isinstance(runner.permissions, Permissions)
        assert runner.permissions.sandbox is started
        bash = runner.tools["bash"]
        assert isinstance(bash, BashTool) and bash.sandbox is started
        # The model widens the file and something re-loads it: the session does not change.
        with (project / "opencode.toml").open("a") as fh:
            fh.write("\n[sandbox]\nnetwork = true\nwritable = ['/']\n")
        assert load_config(project, warn=lambda line: None).sandbox.network
        assert runner.permissions.sandbox is started and not started.network
        assert bash.sandbox is started
    finally:
        await engine.close()
