"""The built wheel ships exactly the ``opencode`` namespace, and installs beside packages that
own the generic names ``commands``, ``sessions`` and ``tui`` without either side breaking.

The wheel is built from a copy of the tree (so a stale ``build/`` can't leak old modules in) and
installed with pip into a fresh venv whose other dependencies come from the test venv.
"""

from __future__ import annotations

import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("opencode", "sessions", "commands", "tui")
DATA_SUFFIXES = {".tcss", ".sql", ".md"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in SHIPPED:
        shutil.copytree(
            ROOT / name,
            src / name,
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["-w", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (built,) = out.glob("opencode-*.whl")
    return built


def _tree_files() -> set[str]:
    """What must ship: every module and data file under the three layer folders, as
    ``opencode/<layer>/...``, plus the namespace's own modules."""
    want = {f"opencode/{p.name}" for p in (ROOT / "opencode").glob("*.py")}
    for layer in ("sessions", "commands", "tui"):
        for path in (ROOT / layer).rglob("*"):
            if path.is_file() and (path.suffix == ".py" or path.suffix in DATA_SUFFIXES):
                if "__pycache__" not in path.parts:
                    want.add(f"opencode/{path.relative_to(ROOT).as_posix()}")
    return want


def test_wheel_ships_the_folder_tree_under_one_namespace(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n for n in names if not n.startswith("opencode-")}
    tops = {n.split("/")[0] for n in shipped}
    assert tops == {"opencode"}, f"top-level names besides opencode: {tops}"
    assert shipped == _tree_files()
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "opencode = opencode.main:main" in zipfile.ZipFile(wheel).read(entry).decode()


FOREIGN = {
    "commands": "MARK = 'theirs-commands'\n",
    "sessions": "MARK = 'theirs-sessions'\n",
    "tui": "MARK = 'theirs-tui'\n",
}


def test_installs_beside_packages_named_commands_sessions_tui(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target = Path(purelib)
    # The other project's packages, installed first.
    for name, body in FOREIGN.items():
        (target / name).mkdir()
        (target / name / "__init__.py").write_text(body)
    # opencode's runtime dependencies come from the test venv (after the venv's own packages).
    (target / "zz_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
        + [str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for name, body in FOREIGN.items():
        assert (target / name / "__init__.py").read_text() == body, f"{name} was overwritten"

    probe = (
        "import commands, sessions, tui, opencode.commands.cli, opencode.sessions.config\n"
        "assert commands.MARK == 'theirs-commands', commands.__file__\n"
        "assert sessions.MARK == 'theirs-sessions', sessions.__file__\n"
        "assert tui.MARK == 'theirs-tui', tui.__file__\n"
        "import opencode\n"
        f"assert opencode.__file__.startswith({purelib!r}), opencode.__file__\n"
        "print('ok')\n"
    )
    both = subprocess.run(
        [str(python), "-I", "-c", probe], capture_output=True, text=True, cwd=tmp_path
    )
    assert both.stdout.strip() == "ok", both.stderr
    script = env_dir / "bin" / "opencode"
    version = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert version.returncode == 0, version.stderr
    assert "0.1.0" in version.stdout
    listing = subprocess.run(
        [str(script), "session", "list", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert listing.returncode == 0, listing.stderr
