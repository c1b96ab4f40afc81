"""`target import FILE` / `target export` with the seed plan's registry JSON, against a real
SQLite file and real folders."""

from __future__ import annotations

import json
from pathlib import Path

from opencode.commands.registry import CommandContext
from tests.sync.conftest import call, write

SEED_REGISTRY = (
    Path(__file__).resolve().parent.parent / "fixtures" / "targets" / "registry_seed_002.json"
)


def _make_target_folders(root: Path) -> None:
    for name in ("ComfyUI_windows_portable", "simple_python_app"):
        write(root / "for_testing" / "as_dependency" / name / "app.py", "print(1)\n")


async def test_seed_registry_round_trips(ctx: CommandContext, tmp_path: Path) -> None:
    _make_target_folders(ctx.cwd)
    imported = await call(ctx, "target", "import", str(SEED_REGISTRY))
    assert imported.exit_code == 0, imported.text
    assert imported.data["created"] == ["ComfyUI_windows_portable", "simple_python_app"]
    listed = {t["name"]: t for t in (await call(ctx, "target", "list")).data}
    comfy = listed["ComfyUI_windows_portable"]
    assert comfy["path"] == str(ctx.cwd / "for_testing/as_dependency/ComfyUI_windows_portable")
    assert (comfy["type"], comfy["status"]) == ("site-packages", "synchronized")
    assert (comfy["last_sync"], comfy["sync_version"]) == ("2026-02-24T00:00:00Z", "v1.2.3")
    assert listed["simple_python_app"]["status"] == "needs_sync"
    # a site-packages entry without "python" is imported, and the gap is said
    assert any("no python given" in w for w in imported.data["warnings"])

    out = tmp_path / "registry.json"
    exported = await call(ctx, "target", "export", "--output", str(out))
    assert exported.exit_code == 0 and exported.data["targets"] == 2
    assert out.read_text(encoding="utf-8") == SEED_REGISTRY.read_text(encoding="utf-8")
    stdout = await call(ctx, "target", "export")
    assert stdout.data == json.loads(SEED_REGISTRY.read_text(encoding="utf-8"))


async def test_reimport_updates_in_place(ctx: CommandContext, tmp_path: Path) -> None:
    _make_target_folders(ctx.cwd)
    await call(ctx, "target", "import", str(SEED_REGISTRY))
    data = json.loads(SEED_REGISTRY.read_text(encoding="utf-8"))
    data["targets"][1]["status"] = "synchronized"
    data["targets"][1]["sync_version"] = "v1.2.3"
    edited = write(tmp_path / "edited.json", json.dumps(data))
    again = await call(ctx, "target", "import", str(edited))
    assert again.exit_code == 0
    assert (again.data["created"], len(again.data["updated"])) == ([], 2)
    listed = {t["name"]: t for t in (await call(ctx, "target", "list")).data}
    assert len(listed) == 2
    assert listed["simple_python_app"]["sync_version"] == "v1.2.3"


async def test_bad_registry_imports_nothing_and_lists_every_problem(
    ctx: CommandContext, tmp_path: Path
) -> None:
    bad = {
        "targets": [
            {"name": "good", "path": "x", "type": "source"},
            {"name": "../evil", "path": "x", "type": "source"},
            {"name": "t2", "path": "x", "type": "egg", "status": "great"},
            {"name": "t3", "path": "x", "type": "source", "last_sync": "yesterday"},
            {"name": "good", "path": "y", "type": "source"},
            "not an object",
        ]
    }
    path = write(tmp_path / "bad.json", json.dumps(bad))
    result = await call(ctx, "target", "import", str(path))
    assert result.exit_code == 1 and result.error is not None
    message = result.error.message
    assert "nothing imported" in message
    for expected in (
        "targets[1]",
        "type must be one of",
        "status must be one of",
        "not ISO 8601",
        "appears twice",
        "targets[5]: expected an object",
    ):
        assert expected in message, expected
    assert (await call(ctx, "target", "list")).data == []

    broken = write(tmp_path / "broken.json", '{"targets": [\n  {"name": "a",}\n]}')
    result = await call(ctx, "target", "import", str(broken))
    assert result.error is not None and "line 2 column" in result.error.message
    missing = await call(ctx, "target", "import", str(tmp_path / "nope.json"))
    assert missing.error is not None and "does not exist" in missing.error.message
    shape = write(tmp_path / "list.json", "[]")
    result = await call(ctx, "target", "import", str(shape))
    assert result.error is not None and '"targets" list' in result.error.message
    deep = write(tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000)
    result = await call(ctx, "target", "import", str(deep))
    assert result.error is not None and "nested too deeply" in result.error.message
