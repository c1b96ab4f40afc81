"""Text from outside (a model's tool arguments, a file, a session title) made safe to draw.

Rich and Textual pass an ESC through to the terminal: a diff line holding ``ESC ]2;…`` sets the
window title, ``ESC ]52;…`` the clipboard, ``ESC [2J`` clears the screen under a modal that is
asking for approval. ``visible`` replaces every control character (C0 but newline and tab, DEL,
C1) with its Unicode control picture or ``<U+XXXX>``, and does the same with the bidirectional
overrides and invisible marks that make text read differently from what it is (the "Trojan
source" trick: ``rm -rf /`` shown as something harmless). ``one_line`` also shows newlines, for
a path or a title that must not span lines.
"""

from __future__ import annotations

import re

# Bidi embeddings/overrides/isolates, zero-width and direction marks, the BOM.
_INVISIBLE = "\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")
_UNSAFE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code < 0x20:
        return chr(0x2400 + code)  # ␛ for ESC, ␍ for CR, ␊ for LF...
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def visible(text: str) -> str:
    """``text`` with control and invisible direction characters shown, newlines and tabs kept."""
    return _UNSAFE.sub(_picture, text)


def one_line(text: str) -> str:
    """``visible`` for text that must stay on one line: newlines and tabs shown too."""
    return _UNSAFE_LINE.sub(_picture, text)
