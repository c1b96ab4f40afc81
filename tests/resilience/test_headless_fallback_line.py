"""What ``opencode run`` prints on stderr when a fallback answered: one line naming the model
that answered and why each earlier entry failed (real subprocesses, loopback servers)."""

from __future__ import annotations

from pathlib import Path

from tests.engine.helpers import fixture, opencode
from tests.resilience.helpers import dead_url, json_error
from tests.support.stream_server import Reply, StreamServer


def _config(project: Path, primary: str, fallback: str) -> None:
    project.mkdir(parents=True, exist_ok=True)
    (project / "opencode.toml").write_text(
        'model = "a/m1"\n'
        f'[provider.a]\napi = "openai"\nbase_url = "{primary}/v1"\napi_key = "sk-a-SECRET"\n'
        'max_retries = 0\ntimeout = 5\nfallback = ["b/m2"]\n'
        f'[provider.b]\napi = "openai"\nbase_url = "{fallback}/v1"\napi_key = "sk-b-SECRET"\n'
        "max_retries = 0\ntimeout = 5\n",
        encoding="utf-8",
    )


def _lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("opencode run: ")]


def test_a_refused_connection_then_a_fallback_is_one_line(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    stream_server.add(Reply(body=fixture("openai_text.sse")))
    project = tmp_path / "p"
    _config(project, dead_url(), stream_server.url)
    run = opencode(project, "run", "hi")
    assert run.code == 0, run.stderr
    assert _lines(run.stderr) == ["opencode run: answered by b/m2 (a/m1 failed: connect)"]


def test_a_server_error_then_a_fallback_is_one_line(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    with StreamServer([json_error(503, "maintenance")]) as primary:
        stream_server.add(Reply(body=fixture("openai_text.sse")))
        project = tmp_path / "p"
        _config(project, primary.url, stream_server.url)
        run = opencode(project, "run", "hi")
    assert run.code == 0, run.stderr
    assert _lines(run.stderr) == ["opencode run: answered by b/m2 (a/m1 failed: server error)"]
    assert "SECRET" not in run.stderr
