"""``{{failure}}`` in a shell handler is the failing step's output, i.e. anyone's text: it
reaches the shell as the value of ``$OPENCODE_FAILURE``, never as command-line syntax, whatever
quotes surround the placeholder. Real bash, and a real ``opencode workflow run``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from opencode.sessions.workflows.executor import FAILURE_ENV, shell_reference
from tests.engine.helpers import opencode

PAYLOAD = (
    'FAIL: test_x "; touch PWNED2; echo "\n'
    "$(touch PWNED) `touch PWNED3` x'; touch PWNED4; echo '\n"
    "${HOME} \\$x * {{failure}} $'\\x41'"
)


@pytest.mark.parametrize(
    "action",
    [
        'printf %s "{{failure}}"',
        "printf %s {{failure}}",
        "printf %s '{{failure}}'",
        "printf %s $'{{failure}}'",
        'printf %s "before {{failure}} after" | sed "s/^before //; s/ after$//"',
    ],
)
def test_every_quoting_context_yields_the_text_as_data(tmp_path: Path, action: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    command = shell_reference(action)
    assert "{{failure}}" not in command
    done = subprocess.run(
        ["/bin/bash", "-c", command],
        cwd=work,
        env={**os.environ, FAILURE_ENV: PAYLOAD},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    if "sed" in action:
        assert done.stdout.rstrip("\n") == PAYLOAD  # sed adds the missing final newline
    else:
        assert done.stdout == PAYLOAD
    assert list(work.iterdir()) == [], "nothing in the text ran"


def test_a_shell_handler_cannot_be_injected_through_the_failure(tmp_path: Path) -> None:
    script = tmp_path / "fail.sh"
    script.write_text(
        "printf '%s\\n' 'FAIL: test_x \"; touch PWNED2; echo \"' '$(touch PWNED)' "
        "'`touch PWNED3`' \"x'; touch PWNED4; echo '\"\nexit 1\n",
        encoding="utf-8",
    )
    (tmp_path / "flow.toml").write_text(
        'allow = ["bash"]\n'
        '[steps.verify]\nshell = "bash fail.sh"\n'
        'on_failure = "retry"\nretries = 1\n'
        'on_failure_step = ["dq", "bare", "sq", "env"]\n'
        "[steps.dq]\nshell = '''echo \"{{failure}}\" >> dq.log'''\n"
        "[steps.bare]\nshell = '''echo {{failure}} >> bare.log'''\n"
        "[steps.sq]\nshell = '''echo '{{failure}}' >> sq.log'''\n"
        "[steps.env]\nshell = '''printf '%s' \"$OPENCODE_FAILURE\" > env.log'''\n",
        encoding="utf-8",
    )
    result = opencode(tmp_path, "workflow", "run", "flow.toml")
    assert result.code != 0, "the step fails on every attempt"
    for name in ("dq.log", "bare.log", "sq.log", "env.log"):
        assert (tmp_path / name).exists(), f"handler wrote {name}: {result.stderr}"
    assert not list(tmp_path.glob("PWNED*")), "text from the failing step ran as a command"
    logged = (tmp_path / "dq.log").read_text()
    for piece in ('"; touch PWNED2; echo "', "$(touch PWNED)", "`touch PWNED3`", "x'; touch"):
        assert piece in logged
        assert piece in (tmp_path / "sq.log").read_text()
        assert piece in (tmp_path / "env.log").read_text()
    assert (tmp_path / "env.log").read_text().startswith("step verify (bash fail.sh) failed")
