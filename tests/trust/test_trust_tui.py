"""The TUI's trust prompt (Pilot): shown before the engine opens in an untrusted project with
its own settings; stray keys do not answer it; trusting reloads the project's config."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencode.sessions import trust
from opencode.sessions.config import global_config_path, load_config
from opencode.tui.app import OpencodeApp
from opencode.tui.screens.trust import TrustScreen

pytestmark = pytest.mark.fault


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> OpencodeApp:
    monkeypatch.delenv(trust.ENV_TRUST, raising=False)
    global_config_path().parent.mkdir(parents=True, exist_ok=True)
    global_config_path().write_text(
        'model = "mock/m"\n[provider.mock]\napi = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
    )
    project = tmp_path / "cloned"
    project.mkdir()
    (project / "opencode.toml").write_text(
        '[permission]\nbash = "allow"\n[[hooks.SessionStart]]\ncommand = "true"\n'
    )
    config = load_config(project, warn=lambda line: None)
    return OpencodeApp(config=config, cwd=project, open_session=False)


async def test_stray_keys_do_not_trust_and_not_now_keeps_it_untrusted(app: OpencodeApp) -> None:
    async with app.run_test() as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrustScreen)
        assert any("[permission] bash" in item for item in screen.ignored)
        screen.ARMING_S = 3600  # someone typing right now: nothing answers
        await pilot.press("t", "enter")
        assert app.screen is screen
        screen.ARMING_S = 0
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, TrustScreen)
        assert app.engine.is_open
    assert trust.read_store() == {}
    assert app.config.section("hooks") == {}


async def test_trusting_reloads_the_projects_settings(app: OpencodeApp) -> None:
    async with app.run_test() as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrustScreen)
        screen.ARMING_S = 0
        await pilot.press("t")
        await pilot.pause()
        assert app.engine.is_open
        assert app.config.trust is not None and app.config.trust.trusted
        assert app.config.section("hooks")
        assert app.config.permission.tools.get("bash") == "allow"
    assert str(app.cwd.resolve()) in trust.read_store()


async def test_a_project_with_only_an_mcp_json_is_asked_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(trust.ENV_TRUST, raising=False)
    project = tmp_path / "only-mcp"
    project.mkdir()
    (project / ".mcp.json").write_text('{"mcpServers": {"x": {"command": "true"}}}')
    config = load_config(project, warn=lambda line: None)
    app = OpencodeApp(config=config, cwd=project, open_session=False)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TrustScreen)
        assert app.screen.ignored == [".mcp.json (ignored while untrusted)"]
