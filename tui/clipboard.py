"""Copying text out of the TUI where a terminal may not let it through.

Three ways, all tried: the terminal's clipboard escape (OSC 52, through Textual's
``App.copy_to_clipboard``; over SSH it reaches the local clipboard, but some terminals and tmux
setups drop it silently), a clipboard program of this machine (``pbcopy``, ``wl-copy``,
``xclip``, ``xsel``, each only where its display is there), and always a file under the data
dir, so the text can be had whatever the terminal did with the escape.

A terminal drops an OSC 52 escape past its own limit without a word (tmux at its 1 MiB input
buffer: a 2 MB reply left the clipboard holding the previous copy while /copy said "copied").
Past ``OSC52_MAX_BYTES`` the escape is not sent and the user is told so (``fits_osc52``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

COPY_FILE = "last-copy.md"
TOOL_TIMEOUT_S = 3.0
# UTF-8 bytes of text whose base64 (4/3 larger) with the escape stays under tmux's 1 MiB.
OSC52_MAX_BYTES = 700_000


def fits_osc52(text: str) -> bool:
    """Whether ``text`` is small enough to go through the terminal's clipboard escape."""
    return len(text.encode("utf-8", errors="replace")) <= OSC52_MAX_BYTES


def clipboard_tools() -> list[list[str]]:
    """The clipboard programs that can work here, best first (argv of each)."""
    found: list[list[str]] = []
    if sys.platform == "darwin":
        found.append(["pbcopy"])
    if os.environ.get("WAYLAND_DISPLAY"):
        found.append(["wl-copy"])
    if os.environ.get("DISPLAY"):
        found += [["xclip", "-selection", "clipboard"], ["xsel", "--clipboard", "--input"]]
    return [argv for argv in found if shutil.which(argv[0])]


async def copy_with_tool(text: str) -> str | None:
    """Hand ``text`` to the first clipboard program that takes it; its name, or None."""
    data = text.encode("utf-8")
    for argv in clipboard_tools():
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        except OSError:
            continue
        try:
            await asyncio.wait_for(process.communicate(data), TOOL_TIMEOUT_S)
        except TimeoutError:
            # xclip and wl-copy fork a child to serve the selection and exit at once; one
            # still here after the timeout is stuck (no display answering): try the next.
            process.kill()
            await process.wait()
            continue
        if process.returncode == 0:
            return argv[0]
    return None


def save_copy(text: str, data_dir: Path) -> Path:
    """Write ``text`` to the copy file under ``data_dir`` (readable by the user only)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / COPY_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
