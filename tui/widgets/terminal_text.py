"""What a program printed, made safe to draw: the tool call widget's output and header.

Textual writes a ``Text``'s characters to the real terminal as they are, so an escape sequence
in a command's output (``printf '\\e]0;title\\a'``, ``\\e]52;c;…`` clipboard writes, ``\\e[2J``,
``\\ec`` full reset, DCS strings) would act on the user's terminal when the call is shown.
``terminal_text`` keeps SGR colours (``\\e[31m``) and drops every other sequence, C0/C1 control
character and ``\\b``; a carriage return is read as a terminal reads it (the line shows what was
written after it: a ``\\r`` progress bar shows its last state, not every frame).
"""

from __future__ import annotations

import re

from rich.console import OverflowMethod
from rich.text import Text

# OSC (title, clipboard, hyperlink...), ended by BEL or ST, or cut off by the end of the text.
_OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
# DCS, SOS, PM, APC strings: everything up to ST.
_STRING = re.compile(r"\x1b[P^_X][^\x1b]*(?:\x1b\\)?")
# CSI sequences; SGR (colours, ``m``) is told apart below.
_CSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
# Any other escape: ESC, intermediates, a final byte (``\ec``, ``\e(B``, ``\e7``), or a lone ESC.
_ESC = re.compile(r"\x1b[ -/]*[0-~]?")
# C0 controls but tab and newline, DEL, and C1 controls (``\x9b`` is a one-byte CSI).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _keep_sgr(match: re.Match[str]) -> str:
    return match.group(0) if match.group(0).endswith("m") else ""


def after_carriage_return(line: str) -> str:
    """The line as a terminal leaves it: the last non-empty write after a ``\\r``."""
    if "\r" not in line:
        return line
    pieces = [piece for piece in line.split("\r") if piece]
    return pieces[-1] if pieces else ""


def plain_safe(raw: str) -> str:
    """``raw`` with every escape sequence and control character (but ``\\t``, ``\\n``) removed,
    carriage returns applied per line."""
    text = _OSC.sub("", raw)
    text = _STRING.sub("", text)
    text = _CSI.sub("", text)
    text = _ESC.sub("", text)
    text = "\n".join(after_carriage_return(line) for line in text.split("\n"))
    return _CONTROL.sub("", text)


def terminal_text(
    raw: str,
    *,
    style: str = "",
    no_wrap: bool | None = None,
    overflow: OverflowMethod | None = None,
) -> Text:
    """``raw`` as a ``Text`` that keeps its SGR colours and can act on no terminal."""
    text = _OSC.sub("", raw)
    text = _STRING.sub("", text)
    text = _CSI.sub(_keep_sgr, text)
    # What is left of ESC is the SGR sequences; anything else starting with ESC goes.
    text = re.sub(r"\x1b(?!\[[0-9;:]*m)[ -/]*[0-~]?", "", text)
    text = "\n".join(after_carriage_return(line) for line in text.split("\n"))
    text = re.sub(r"[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f]", "", text)  # ESC kept: SGR only
    if "\x1b" not in text:
        return Text(text, style=style, no_wrap=no_wrap, overflow=overflow)
    return Text.from_ansi(text, style=style, no_wrap=no_wrap, overflow=overflow)
