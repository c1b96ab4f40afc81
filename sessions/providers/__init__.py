"""Wire adapters for chat providers (see ``base`` for the contract, ``factory`` to build one).

Importing this package first keeps ``httpx`` light: httpx's package ``__init__`` imports its own
command-line tool (``httpx._main``, which pulls in rich, click and pygments: about 140 ms here)
when those happen to be installed, as they are beside Textual. opencode never runs httpx's CLI,
so a placeholder module stands in for it; the real one is still used if something imported it
already.
"""

from __future__ import annotations

import sys
import types

if "httpx._main" not in sys.modules and "httpx" not in sys.modules:
    _cli = types.ModuleType("httpx._main")

    def _httpx_cli_unavailable() -> None:
        raise SystemExit("httpx's command-line tool is not loaded inside opencode; run `httpx`")

    _cli.main = _httpx_cli_unavailable  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = _cli
