"""The ``opencode`` console script: the one place that joins the CLI and the TUI.

``opencode.commands.cli`` parses every command line; when no subcommand is given it calls the
launcher passed in here, which is the only path that imports Textual. Keeping the join above the
three layers lets ``commands`` stay strictly below ``tui`` (see ``[tool.importlinter]``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def launch_tui(opts: argparse.Namespace) -> int:
    from pathlib import Path

    from opencode.sessions.config import ConfigError, load_config

    cwd = Path.cwd().resolve()
    try:
        config = load_config(cwd)
    except ConfigError as exc:
        print(f"opencode: config error: {exc}", file=sys.stderr)
        return 2
    from opencode.tui.app import run_app

    code: int = run_app(
        config=config, cwd=cwd, session_id=opts.session, continue_latest=opts.cont, model=opts.model
    )
    return code


def main(argv: Sequence[str] | None = None) -> int:
    from opencode.commands.cli import main as cli_main

    return cli_main(argv, tui=launch_tui)
