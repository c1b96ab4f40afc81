"""Tool calls that small local models write as text, turned back into real tool calls.

Models served without a tool-call parser (or too small to follow one) put the call in their
content, in the shapes their chat templates taught them:

- ``<tool_call>{"name": "read", "arguments": {"path": "a.py"}}</tool_call>`` (Hermes, Qwen 2.5,
  SmolLM2 with the Qwen template; the closing tag is often cut off by a stop sequence);
- ``<function=read>{"path": "a.py"}</function>`` (Llama 3.1 style), or with
  ``<parameter=path>a.py</parameter>`` pairs inside (Qwen3-Coder style).

``ToolCallRepair`` watches the text stream: text before an opening tag passes straight on (only
a possible partial tag at the very end is held back); from the tag to its close the text is
held, and if it parses as a call of a tool the request offered, a ``RepairedCall`` comes out
instead of the text. Anything else — an unknown tool, broken JSON, a block longer than
``MAX_BLOCK_CHARS`` — is sent on as the text it was, so nothing the model wrote is lost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

MAX_BLOCK_CHARS = 256 * 1024

_TOOL_CALL = ("<tool_call>", "</tool_call>")
_FUNCTION = ("<function=", "</function>")
OPENERS = (_TOOL_CALL[0], _FUNCTION[0])
_PARAMETER = re.compile(r"<parameter=([^>\s]+)>\s*(.*?)\s*</parameter>", re.DOTALL)


@dataclass(frozen=True, slots=True)
class RepairedCall:
    name: str
    arguments: str  # JSON text of an object
    source: str  # the text it replaced


Piece = str | RepairedCall


def _partial_opener(text: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of an opener."""
    best = 0
    for opener in OPENERS:
        for size in range(min(len(opener) - 1, len(text)), best, -1):
            if text.endswith(opener[:size]):
                best = size
                break
    return best


def _arguments_json(value: Any) -> str | None:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError:
            return None
    if not isinstance(value, dict):
        return None
    return json.dumps(value, ensure_ascii=False)


def parse_tool_call_block(body: str) -> tuple[str, str] | None:
    """``{"name": ..., "arguments": ...}`` (or ``parameters``) -> (name, arguments JSON)."""
    try:
        data, end = json.JSONDecoder().raw_decode(body.strip())
    except json.JSONDecodeError:
        return None
    if body.strip()[end:].strip() or not isinstance(data, dict):
        return None
    name = data.get("name")
    args = data.get("arguments", data.get("parameters", {}))
    arguments = _arguments_json(args)
    if not isinstance(name, str) or not name or arguments is None:
        return None
    return name, arguments


def parse_function_block(body: str) -> tuple[str, str] | None:
    """``NAME>{json}`` or ``NAME><parameter=k>v</parameter>...`` -> (name, arguments JSON)."""
    name, sep, rest = body.partition(">")
    name = name.strip()
    if not sep or not re.fullmatch(r"[A-Za-z0-9_.:-]+", name):
        return None
    rest = rest.strip()
    if rest.startswith("{"):
        arguments = _arguments_json(rest)
        return (name, arguments) if arguments is not None else None
    params: dict[str, Any] = {}
    for key, raw in _PARAMETER.findall(rest):
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    if _PARAMETER.sub("", rest).strip():
        return None  # text besides parameters: not a call we understand
    return name, json.dumps(params, ensure_ascii=False)


class ToolCallRepair:
    def __init__(self, offered: Collection[str]) -> None:
        self.offered = set(offered)
        self._pending = ""  # text state: a possible partial opener; block state: the block
        self._opener: tuple[str, str] | None = None
        self.repaired = 0

    @property
    def active(self) -> bool:
        return bool(self.offered)

    def feed(self, text: str) -> list[Piece]:
        if not self.active:
            return [text] if text else []
        self._pending += text
        return self._drain(final=False)

    def flush(self) -> list[Piece]:
        if not self.active:
            return []
        return self._drain(final=True)

    def _drain(self, *, final: bool) -> list[Piece]:
        out: list[Piece] = []
        while self._pending:
            if self._opener is None:
                starts = [
                    (i, pair)
                    for pair in (_TOOL_CALL, _FUNCTION)
                    if (i := self._pending.find(pair[0])) >= 0
                ]
                if not starts:
                    keep = 0 if final else _partial_opener(self._pending)
                    cut = len(self._pending) - keep
                    if cut:
                        out.append(self._pending[:cut])
                    self._pending = self._pending[cut:]
                    break
                index, pair = min(starts, key=lambda s: s[0])
                if index:
                    out.append(self._pending[:index])
                self._pending = self._pending[index:]
                self._opener = pair
                continue
            opener, closer = self._opener
            end = self._pending.find(closer, len(opener))
            if end < 0:
                if len(self._pending) > MAX_BLOCK_CHARS:
                    out.append(self._give_up(self._pending))
                    continue
                if final:  # a stop sequence often eats the closing tag
                    block, self._pending = self._pending, ""
                    out.append(self._finish_block(block, block[len(opener) :]))
                break
            block = self._pending[: end + len(closer)]
            self._pending = self._pending[end + len(closer) :]
            out.append(self._finish_block(block, block[len(opener) : end]))
        return out

    def _give_up(self, text: str) -> str:
        self._opener = None
        self._pending = ""
        return text

    def _finish_block(self, source: str, body: str) -> Piece:
        opener = self._opener
        self._opener = None
        parsed = parse_tool_call_block(body) if opener == _TOOL_CALL else parse_function_block(body)
        if parsed is None or parsed[0] not in self.offered:
            return source
        self.repaired += 1
        return RepairedCall(parsed[0], parsed[1], source)
