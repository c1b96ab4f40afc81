"""Correction rules: what a rule is, and checking one before it is stored.

A rule replaces a literal string or a regular expression in one scope of a model's output
(``text``, ``reasoning`` or ``tool_arguments``), for the models its glob names. Rules are applied
to the stream as it arrives (see ``window``), so every rule must have a bounded match length:
the stream holds back that many characters, and a rule that could match without bound (``.*``)
would hold back the whole reply. Such rules, rules that can match nothing, string anchors and
lookarounds are refused when the rule is added, never at stream time.
"""

from __future__ import annotations

import fnmatch
import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Scope = Literal["text", "reasoning", "tool_arguments"]
Mode = Literal["apply", "shadow"]
SCOPES: tuple[Scope, ...] = ("text", "reasoning", "tool_arguments")
MODES: tuple[Mode, ...] = ("apply", "shadow")
# The longest match a streamed rule may have: the hold-back window is at most this long.
MAX_MATCH_CHARS = 1024

# re's parser is private (typeshed has no stubs for it); it is the only way to learn a
# pattern's width without running it. tests/corrections/test_rules.py pins what this relies on.
_sre_parse: Any = importlib.import_module("re._parser")
_sre_constants: Any = importlib.import_module("re._constants")

_ANCHORS = {
    _sre_constants.AT_BEGINNING: "^",
    _sre_constants.AT_BEGINNING_STRING: "\\A",
    _sre_constants.AT_END: "$",
    _sre_constants.AT_END_STRING: "\\Z",
}
_BOUNDARIES = {_sre_constants.AT_BOUNDARY, _sre_constants.AT_NON_BOUNDARY}


class RuleError(ValueError):
    """A rule that cannot be applied to a stream; the message says why and what to write."""


@dataclass(slots=True)
class Rule:
    """A stored rule (one ``correction_rule`` row)."""

    pattern: str
    replacement: str
    id: int = 0
    regex: bool = False
    scope: Scope = "text"
    model: str = "*"
    priority: int = 0
    enabled: bool = True
    mode: Mode = "apply"
    hits: int = 0
    description: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    def applies_to(self, model_ref: str) -> bool:
        """``model`` is a glob over ``PROVIDER/MODEL`` (``*`` matches every model)."""
        return self.enabled and fnmatch.fnmatchcase(model_ref, self.model)


@dataclass(slots=True)
class CompiledRule:
    rule: Rule
    regex: re.Pattern[str]
    # The longest text one match can cover, plus one character when the pattern looks at the
    # character after its match (\b, \B): what the stream must hold back for this rule.
    hold: int
    literal_replacement: str | None = field(default=None)

    def expand(self, match: re.Match[str]) -> str:
        if self.literal_replacement is not None:
            return self.literal_replacement
        return match.expand(self.rule.replacement)


def _walk(pattern: Any) -> Iterator[tuple[Any, Any]]:
    """Every (opcode, argument) in a parsed pattern, nested groups included."""
    for op, av in pattern:
        yield op, av
        stack = [av]
        while stack:
            item = stack.pop()
            if isinstance(item, _sre_parse.SubPattern):
                yield from _walk(item)
            elif isinstance(item, (list, tuple)):
                stack.extend(item)


def compile_rule(rule: Rule) -> CompiledRule:
    """Check ``rule`` and compile it; ``RuleError`` says what is wrong."""
    if rule.scope not in SCOPES:
        raise RuleError(f"scope must be one of {', '.join(SCOPES)}, not {rule.scope!r}")
    if rule.mode not in MODES:
        raise RuleError(f"mode must be one of {', '.join(MODES)}, not {rule.mode!r}")
    if not rule.pattern:
        raise RuleError("the pattern is empty")
    if not rule.regex:
        if len(rule.pattern) > MAX_MATCH_CHARS:
            raise RuleError(f"the pattern is longer than {MAX_MATCH_CHARS} characters")
        return CompiledRule(
            rule, re.compile(re.escape(rule.pattern)), len(rule.pattern), rule.replacement
        )
    try:
        compiled = re.compile(rule.pattern)
        parsed = _sre_parse.parse(rule.pattern)
    except re.error as exc:
        raise RuleError(f"bad regular expression {rule.pattern!r}: {exc}") from None
    low, high = parsed.getwidth()
    if high > MAX_MATCH_CHARS:
        raise RuleError(
            f"{rule.pattern!r} can match without a length bound (more than {MAX_MATCH_CHARS} "
            "characters), so it cannot be applied to a stream: bound its repeats, e.g. "
            "'.{0,200}' instead of '.*'"
        )
    if low == 0:
        raise RuleError(
            f"{rule.pattern!r} can match an empty string; make it match at least one character"
        )
    slack = 0
    for op, av in _walk(parsed):
        if op in (_sre_constants.ASSERT, _sre_constants.ASSERT_NOT):
            raise RuleError(
                f"{rule.pattern!r} uses a lookahead or lookbehind, which a stream cannot "
                "check at a chunk boundary; match the context and put it back with a group"
            )
        if op is _sre_constants.AT and av in _ANCHORS:
            raise RuleError(
                f"{rule.pattern!r} uses the anchor {_ANCHORS[av]}, which has no meaning inside "
                "a stream; match the newline itself (\\n) instead"
            )
        if op is _sre_constants.AT and av in _BOUNDARIES:
            slack = 1
    try:
        compiled.sub(rule.replacement, "")  # compiles the template: checks group references
    except (re.error, IndexError) as exc:
        raise RuleError(f"bad replacement {rule.replacement!r}: {exc}") from None
    return CompiledRule(rule, compiled, high + slack)


def order(rules: list[CompiledRule]) -> list[CompiledRule]:
    """Highest priority first; equal priority in the order the rules were made."""
    return sorted(rules, key=lambda c: (-c.rule.priority, c.rule.created_at, c.rule.id))
