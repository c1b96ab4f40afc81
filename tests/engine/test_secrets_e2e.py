"""Secrets never reach the database, exports, stdout or stderr, whatever the fault.

Each scenario runs a real `opencode run` against a loopback server, then greps every place a
secret could land: the SQLite files (with the WAL), `session export` as markdown and JSON, and
the run's own stdout and stderr. Secrets: a token in the environment that config never names,
a password in the environment, a key written literally into opencode.toml, and a password in
the provider's base_url.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.engine.helpers import db_path, opencode
from tests.support.stream_server import Reply, StreamServer

ENV_TOKEN = "tok-live-abcdef123456"
ENV_PASSWORD = "pw-very-secret-987"
LITERAL_KEY = "sk-literal-SECRET-5555"
URL_PASSWORD = "hunter2pass"
SECRETS = (ENV_TOKEN, ENV_PASSWORD, LITERAL_KEY, URL_PASSWORD)

pytestmark = pytest.mark.fault


def sse(*chunks: dict[str, object]) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + (
        b"data: [DONE]\n\n"
    )


def tool_call(command: str) -> Reply:
    arguments = json.dumps({"command": command})
    call = {"index": 0, "id": "call_1", "type": "function"}
    return Reply(
        sse(
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "tool_calls": [
                                {**call, "function": {"name": "bash", "arguments": arguments}}
                            ]
                        },
                    }
                ]
            },
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        ),
        headers={"content-type": "text/event-stream"},
    )


def text(words: str) -> Reply:
    return Reply(
        sse(
            {"choices": [{"index": 0, "delta": {"content": words}}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        ),
        headers={"content-type": "text/event-stream"},
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MY_SERVICE_TOKEN", ENV_TOKEN)
    monkeypatch.setenv("DB_PASSWORD", ENV_PASSWORD)
    project = tmp_path / "proj"
    project.mkdir()
    (project / "notes.txt").write_text(f"the key is {LITERAL_KEY}\n")
    return project


def configure(project: Path, base_url: str) -> None:
    (project / "opencode.toml").write_text(
        'model = "mock/test-model"\n'
        f'[provider.mock]\napi = "openai"\nbase_url = "{base_url}"\n'
        f'api_key = "{LITERAL_KEY}"\nmax_retries = 0\ntimeout = 5\n',
        encoding="utf-8",
    )


def with_password(url: str) -> str:
    return url.replace("http://", f"http://user:{URL_PASSWORD}@") + "/v1"


def assert_nowhere(project: Path, *outputs: str) -> None:
    places: dict[str, str] = {f"output {n}": out for n, out in enumerate(outputs)}
    data = db_path().parent
    for path in data.glob("opencode.db*"):
        places[path.name] = path.read_bytes().decode("utf-8", "replace")
    listing = opencode(project, "session", "list", "--all", "--format", "json")
    for session in json.loads(listing.stdout or "[]"):
        for fmt in ("markdown", "json"):
            export = opencode(project, "session", "export", session["id"], "--format", fmt)
            places[f"export {fmt}"] = export.stdout + export.stderr
    assert len(places) >= 3
    for name, body in places.items():
        for secret in SECRETS:
            assert secret not in body, f"{secret!r} leaked into {name}"


def test_tool_output_with_env_tokens_and_literal_keys_is_scrubbed(project: Path) -> None:
    with StreamServer([tool_call("env; cat notes.txt"), text("Done.")]) as server:
        configure(project, with_password(server.url))
        run = opencode(project, "run", "--yes", "--format", "json", "show the environment")
        assert run.code == 0, run.stderr
        result = run.of_type("tool_result")[0]
        # The command really printed them; what left the tool was scrubbed.
        assert "[redacted MY_SERVICE_TOKEN]" in result["output"]
        assert "[redacted config]" in result["output"]
        # ...and the model was sent the scrubbed output too.
        sent = server.requests[1].body.decode()
        assert ENV_TOKEN not in sent and LITERAL_KEY not in sent
        assert "[redacted MY_SERVICE_TOKEN]" in sent
    assert_nowhere(project, run.stdout, run.stderr)


def test_provider_error_naming_the_url_keeps_the_password_out(project: Path) -> None:
    body = json.dumps({"error": {"message": f"bad gateway for {with_password('http://h')}"}})
    failing = Reply(body.encode(), status=502, headers={"content-type": "application/json"})
    with StreamServer([failing]) as server:
        configure(project, with_password(server.url))
        run = opencode(project, "run", "--format", "json", "hello")
    assert run.code == 1
    assert run.of_type("error"), run.stdout
    assert_nowhere(project, run.stdout, run.stderr)


def test_connection_refused_keeps_the_password_out(project: Path) -> None:
    with StreamServer() as server:
        url = server.url
    configure(project, with_password(url))  # the server is gone: connection refused
    for fmt in ("text", "json"):
        run = opencode(project, "run", "--format", fmt, "hello")
        assert run.code == 1
        assert_nowhere(project, run.stdout, run.stderr)
    assert "127.0.0.1" in run.stdout + run.stderr  # the error still says where


def test_environment_is_not_mutated_by_the_fixture() -> None:
    # The secrets above are set per test (monkeypatch), never left for other tests.
    assert os.environ.get("MY_SERVICE_TOKEN") != ENV_TOKEN
