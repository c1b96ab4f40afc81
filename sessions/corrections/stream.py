"""Corrections applied to a provider's event stream, between the adapter and its consumer.

``StreamCorrector`` takes provider events in order and gives back the corrected events:
text and reasoning go through a ``Rewriter`` each (held back only as long as the rules need),
text also through ``ToolCallRepair`` when the request offered tools, and tool-call arguments
are corrected on the assembled JSON (string values only, so the result stays valid JSON; the
fragments are held until the call ends). A change of part (text -> reasoning, a tool call, the
finish, an error, the end of the stream) flushes what was held, so nothing is lost and nothing
leaves uncorrected. ``Usage`` passes straight through and never flushes: some servers send it
between text chunks.

The runner and ``opencode proxy`` use the same class, so every surface applies the same rules.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncGenerator, Collection
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from opencode.sessions.corrections.rules import CompiledRule
from opencode.sessions.corrections.toolrepair import RepairedCall, ToolCallRepair
from opencode.sessions.corrections.window import Hit, Rewriter, rewrite_all
from opencode.sessions.events import (
    Finish,
    ProviderEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    Usage,
)

# Indexes for repaired calls start here, far from the adapters' own (0, 1, 2, ...).
REPAIRED_INDEX_BASE = 10_000


@dataclass(slots=True)
class Repair:
    """A text-encoded tool call that became a real one (audited like a rule hit)."""

    call: RepairedCall
    call_id: str


@dataclass(slots=True)
class StreamCorrector:
    rules: list[CompiledRule]
    offered_tools: Collection[str] = ()
    repair_tool_calls: bool = True
    hits: list[Hit] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    _text: Rewriter = field(init=False)
    _reasoning: Rewriter = field(init=False)
    _args_rules: list[CompiledRule] = field(init=False)
    _repair: ToolCallRepair = field(init=False)
    _held_args: dict[int, list[str]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        by_scope = {
            scope: [c for c in self.rules if c.rule.scope == scope]
            for scope in ("text", "reasoning", "tool_arguments")
        }
        self._text = Rewriter(by_scope["text"], self.hits.append)
        self._reasoning = Rewriter(by_scope["reasoning"], self.hits.append)
        self._args_rules = by_scope["tool_arguments"]
        self._repair = ToolCallRepair(self.offered_tools if self.repair_tool_calls else ())

    @property
    def active(self) -> bool:
        return bool(self.rules) or self._repair.active

    @property
    def held_max(self) -> int:
        """The most characters of text or reasoning held back at once."""
        return max(self._text.held_max, self._reasoning.held_max)

    # ------------------------------------------------------------------ events in, events out

    def process(self, event: ProviderEvent) -> list[ProviderEvent]:
        if isinstance(event, TextDelta):  # a text part begins or goes on: reasoning is over
            return self._flush_reasoning() + self._text_pieces(self._repair.feed(event.text))
        if isinstance(event, Usage):
            return [event]
        out = self._flush_text()
        if isinstance(event, ReasoningDelta):
            text = self._reasoning.feed(event.text)
            return out + ([ReasoningDelta(text)] if text else [])
        out += self._flush_reasoning()
        if isinstance(event, ToolCallStart):
            if self._args_rules:
                self._held_args[event.index] = []
            return out + [event]
        if isinstance(event, ToolCallDelta) and event.index in self._held_args:
            self._held_args[event.index].append(event.arguments)
            return out
        if isinstance(event, ToolCallEnd) and self._args_rules:
            self._held_args.pop(event.index, None)
            arguments = self.correct_arguments(event.arguments)
            return out + [
                ToolCallDelta(event.index, arguments),
                ToolCallEnd(event.index, event.id, event.name, arguments),
            ]
        if isinstance(event, Finish) and self.repairs and event.reason == "stop":
            return out + [Finish("tool_calls", event.raw_reason)]
        return out + [event]

    def finish(self) -> list[ProviderEvent]:
        """The stream ended: whatever is still held goes out."""
        return self._flush_text() + self._flush_reasoning()

    # ------------------------------------------------------------------ helpers

    def _text_pieces(self, pieces: list[str | RepairedCall]) -> list[ProviderEvent]:
        out: list[ProviderEvent] = []
        for piece in pieces:
            if isinstance(piece, str):
                text = self._text.feed(piece)
                if text:
                    out.append(TextDelta(text))
                continue
            rest = self._text.flush()
            if rest:
                out.append(TextDelta(rest))
            index = REPAIRED_INDEX_BASE + len(self.repairs)
            call_id = f"call_repaired_{os.urandom(6).hex()}"
            self.repairs.append(Repair(piece, call_id))
            arguments = self.correct_arguments(piece.arguments)
            out += [
                ToolCallStart(index, call_id, piece.name),
                ToolCallDelta(index, arguments),
                ToolCallEnd(index, call_id, piece.name, arguments),
            ]
        return out

    def _flush_text(self) -> list[ProviderEvent]:
        out = self._text_pieces(self._repair.flush())
        rest = self._text.flush()
        return out + ([TextDelta(rest)] if rest else [])

    def _flush_reasoning(self) -> list[ProviderEvent]:
        rest = self._reasoning.flush()
        return [ReasoningDelta(rest)] if rest else []

    def correct_arguments(self, arguments: str) -> str:
        """Apply ``tool_arguments`` rules to every string inside the JSON; invalid JSON is
        passed on untouched (the runner reports it to the model)."""
        if not self._args_rules:
            return arguments
        try:
            data = json.loads(arguments)
        except json.JSONDecodeError:
            return arguments
        before = len(self.hits)
        data = self._walk(data)
        if len(self.hits) == before:
            return arguments
        return json.dumps(data, ensure_ascii=False)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return rewrite_all(self._args_rules, value, self.hits.append)
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        if isinstance(value, dict):
            return {k: self._walk(v) for k, v in value.items()}
        return value


async def corrected(
    events: AsyncGenerator[ProviderEvent, None], corrector: StreamCorrector
) -> AsyncGenerator[ProviderEvent, None]:
    """``events`` with ``corrector`` applied; flushes at the end of the stream. Closing this
    generator closes ``events`` (the upstream request is cancelled, not left running)."""
    async with aclosing(events) as upstream:
        if not corrector.active:
            async for event in upstream:
                yield event
            return
        async for event in upstream:
            for out in corrector.process(event):
                yield out
    for out in corrector.finish():
        yield out
