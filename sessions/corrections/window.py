"""Applying rules to text that arrives in pieces, so a match split across pieces is still
replaced before any of it leaves.

``Rewriter.feed`` takes the next piece and returns what is safe to send on; ``flush`` (at the
end of a part) returns the rest. It holds back the last ``hold`` characters, the longest match
any of its rules can make (plus one when a rule looks at the next character): a match that
starts before that window lies wholly inside the text already seen, so it is final. Matches are
found as ``re.sub`` finds them on the whole text — leftmost first, never overlapping, the
earlier rule (by priority) winning a tie — so the result never depends on where the pieces
were cut (tests/corrections fuzz every cut).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from opencode.sessions.corrections.rules import CompiledRule, order


@dataclass(frozen=True, slots=True)
class Hit:
    """One match of one rule: what it saw and what it sent on instead."""

    rule: CompiledRule
    before: str
    after: str

    @property
    def applied(self) -> bool:
        return self.rule.rule.mode == "apply"


OnHit = Callable[[Hit], None]


class Rewriter:
    def __init__(self, rules: list[CompiledRule], on_hit: OnHit | None = None) -> None:
        self.rules = order(rules)
        self.hold = max((r.hold for r in self.rules), default=0)
        self.on_hit = on_hit
        # Raw text not yet sent on, and the raw character before it (\b looks at it).
        self._pending = ""
        self._before = ""
        self.held_max = 0  # the most characters ever held back (for the latency figures)

    def feed(self, text: str) -> str:
        if not self.rules:
            return text
        self._pending += text
        return self._drain(final=False)

    def flush(self) -> str:
        if not self.rules:
            return ""
        return self._drain(final=True)

    def _drain(self, *, final: bool) -> str:
        buf = self._before + self._pending
        pos = len(self._before)
        # A match starting at or before `last_start` cannot grow with more text.
        last_start = len(buf) if final else len(buf) - self.hold
        out: list[str] = []
        best: tuple[CompiledRule, re.Match[str]] | None = None
        while pos < len(buf):
            best = None
            for compiled in self.rules:
                match = compiled.regex.search(buf, pos)
                if match is not None and (best is None or match.start() < best[1].start()):
                    best = (compiled, match)
            if best is None or best[1].start() > last_start:
                break
            compiled, match = best
            replacement = compiled.expand(match)
            hit = Hit(compiled, match.group(0), replacement)
            if self.on_hit is not None:
                self.on_hit(hit)
            out.append(buf[pos : match.start()])
            out.append(replacement if hit.applied else match.group(0))
            pos = match.end()
        # Text before the earliest possible future match is clean: send it on.
        if final:
            send_to = len(buf)
        else:
            send_to = max(pos, min(len(buf), last_start))
            if best is not None and best[1].start() < send_to:
                send_to = max(pos, best[1].start())
        out.append(buf[pos:send_to])
        self._pending = buf[send_to:]
        self._before = buf[max(0, send_to - 1) : send_to]
        self.held_max = max(self.held_max, len(self._pending))
        return "".join(out)


def rewrite_all(rules: list[CompiledRule], text: str, on_hit: OnHit | None = None) -> str:
    """The whole of ``text`` at once: what the stream produces for any cut of it."""
    rewriter = Rewriter(rules, on_hit)
    return rewriter.feed(text) + rewriter.flush()
