"""Session-scoped real servers for the real-server tier.

Every test module here sets ``pytestmark = pytest.mark.realserver`` (CI runs it). Nothing
skips: a failed build or a server that does not start fails the tests with the build log or
the server's log tail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.realserver.build_llama_server import BuildError
from tests.realserver.servers import (
    RunningServer,
    ServerStartError,
    start_llama_cpp_python_server,
    start_llama_server,
)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    try:
        server = start_llama_server(tmp_path_factory.mktemp("llama-server"))
    except (BuildError, ServerStartError) as exc:
        pytest.fail(f"the real llama-server could not be built or started:\n{exc}", pytrace=False)
    with server:
        yield server


@pytest.fixture(scope="session")
def llama_cpp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    try:
        server = start_llama_cpp_python_server(tmp_path_factory.mktemp("llama-cpp-python"))
    except ServerStartError as exc:
        pytest.fail(f"python -m llama_cpp.server could not start:\n{exc}", pytrace=False)
    with server:
        yield server


@pytest.fixture(scope="session")
def llama_cpp_fc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """llama_cpp.server with ``--chat_format chatml-function-calling`` (its empty-body bug)."""
    try:
        server = start_llama_cpp_python_server(
            tmp_path_factory.mktemp("llama-cpp-python-fc"), "chatml-function-calling"
        )
    except ServerStartError as exc:
        pytest.fail(f"python -m llama_cpp.server could not start:\n{exc}", pytrace=False)
    with server:
        yield server
