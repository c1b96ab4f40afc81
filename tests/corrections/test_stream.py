"""Corrections on provider event streams: text, reasoning, tool arguments, and tool calls that a
small model wrote as text becoming real tool calls."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator

from hypothesis import given, settings
from hypothesis import strategies as st

from opencode.sessions.corrections.rules import Rule, compile_rule
from opencode.sessions.corrections.stream import StreamCorrector, corrected
from opencode.sessions.corrections.toolrepair import (
    RepairedCall,
    ToolCallRepair,
    parse_function_block,
)
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


def run(corrector: StreamCorrector, events: list[ProviderEvent]) -> list[ProviderEvent]:
    out: list[ProviderEvent] = []
    for event in events:
        out += corrector.process(event)
    return out + corrector.finish()


def text_of(events: list[ProviderEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_text_and_reasoning_rules_apply_to_their_own_scope() -> None:
    rules = [
        compile_rule(Rule("foo", "bar")),
        compile_rule(Rule("think", "ponder", scope="reasoning")),
    ]
    out = run(
        StreamCorrector(rules),
        [ReasoningDelta("I th"), ReasoningDelta("ink foo"), TextDelta("fo"), TextDelta("o think")],
    )
    reasoning = "".join(e.text for e in out if isinstance(e, ReasoningDelta))
    assert reasoning == "I ponder foo"
    assert text_of(out) == "bar think"
    # The reasoning part was flushed before the text part began: order is kept.
    kinds = [type(e).__name__ for e in out]
    assert kinds.index("TextDelta") > max(i for i, k in enumerate(kinds) if k == "ReasoningDelta")


def test_usage_between_chunks_does_not_flush_a_held_match() -> None:
    out = run(
        StreamCorrector([compile_rule(Rule("secret", "***"))]),
        [TextDelta("a sec"), Usage(3, 4), TextDelta("ret b"), Finish("stop")],
    )
    assert text_of(out) == "a *** b"
    assert isinstance(out[-1], Finish)


def test_tool_arguments_are_corrected_on_the_assembled_json_and_stay_valid() -> None:
    corrector = StreamCorrector(
        [compile_rule(Rule("/tmp/old", "/tmp/new", scope="tool_arguments"))]
    )
    args = json.dumps({"path": "/tmp/old/a.txt", "n": 3, "list": ["/tmp/old"]})
    out = run(
        corrector,
        [
            ToolCallStart(0, "c1", "read"),
            ToolCallDelta(0, args[:10]),
            ToolCallDelta(0, args[10:]),
            ToolCallEnd(0, "c1", "read", args),
            Finish("tool_calls"),
        ],
    )
    end = next(e for e in out if isinstance(e, ToolCallEnd))
    assert json.loads(end.arguments) == {"path": "/tmp/new/a.txt", "n": 3, "list": ["/tmp/new"]}
    deltas = [e.arguments for e in out if isinstance(e, ToolCallDelta)]
    assert "".join(deltas) == end.arguments  # the fragments shown match what runs
    assert len(corrector.hits) == 2


def test_invalid_tool_json_is_passed_on_untouched() -> None:
    corrector = StreamCorrector([compile_rule(Rule("a", "b", scope="tool_arguments"))])
    out = run(corrector, [ToolCallStart(0, "c", "x"), ToolCallEnd(0, "c", "x", '{"a": ')])
    assert next(e for e in out if isinstance(e, ToolCallEnd)).arguments == '{"a": '


def test_text_encoded_tool_call_becomes_a_real_one_when_offered() -> None:
    corrector = StreamCorrector([], offered_tools={"read"})
    pieces = ["Let me look.\n<tool", '_call>\n{"name": "read", "argu', 'ments": {"path": "a.py"}}']
    out = run(corrector, [TextDelta(p) for p in pieces] + [Finish("stop")])
    assert text_of(out) == "Let me look.\n"
    end = next(e for e in out if isinstance(e, ToolCallEnd))
    assert end.name == "read" and json.loads(end.arguments) == {"path": "a.py"}
    assert isinstance(out[-1], Finish) and out[-1].reason == "tool_calls"
    assert len(corrector.repairs) == 1


def test_a_tool_not_offered_stays_text() -> None:
    block = '<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>'
    out = run(StreamCorrector([], offered_tools={"read"}), [TextDelta(block), Finish("stop")])
    assert text_of(out) == block
    assert not any(isinstance(e, ToolCallEnd) for e in out)


def test_no_tools_offered_means_no_repair_at_all() -> None:
    block = '<tool_call>{"name": "read", "arguments": {}}</tool_call>'
    corrector = StreamCorrector([], offered_tools=())
    assert not corrector.active
    assert text_of(run(corrector, [TextDelta(block)])) == block


def test_function_shapes() -> None:
    assert parse_function_block('read>{"path": "x"}') == ("read", '{"path": "x"}')
    assert parse_function_block("bash>\n<parameter=command>ls -la</parameter>\n") == (
        "bash",
        '{"command": "ls -la"}',
    )
    assert parse_function_block("bad name>{}") is None
    assert parse_function_block("read>free text") is None


def test_two_identical_calls_in_a_row_are_both_repaired() -> None:
    block = '<tool_call>{"name": "read", "arguments": {"path": "a"}}</tool_call>'
    repair = ToolCallRepair({"read"})
    pieces = repair.feed(block + block + " done") + repair.flush()
    assert [p for p in pieces if isinstance(p, RepairedCall)] == [
        RepairedCall("read", '{"path": "a"}', block)
    ] * 2
    assert "".join(p for p in pieces if isinstance(p, str)) == " done"


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(alphabet="ab <>\n", max_size=15),
    cuts=st.lists(st.integers(min_value=0, max_value=120), max_size=10),
)
def test_repair_does_not_depend_on_chunking(before: str, cuts: list[int]) -> None:
    block = '<function=read>{"path": "x.py"}</function>'
    text = before + block + " after"
    points = sorted({c % (len(text) + 1) for c in cuts})
    bounds = [0, *points, len(text)]
    repair = ToolCallRepair({"read"})
    pieces = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        pieces += repair.feed(text[a:b])
    pieces += repair.flush()
    assert "".join(p for p in pieces if isinstance(p, str)) == before + " after"
    assert [p.name for p in pieces if isinstance(p, RepairedCall)] == ["read"]


async def test_corrected_wraps_an_async_stream_and_closes_it() -> None:
    closed = False

    async def upstream() -> AsyncGenerator[ProviderEvent, None]:
        nonlocal closed
        try:
            yield TextDelta("hello wor")
            yield TextDelta("ld")
            yield Finish("stop")
        finally:
            closed = True

    corrector = StreamCorrector([compile_rule(Rule("world", "there"))])
    events = [e async for e in corrected(upstream(), corrector)]
    assert text_of(events) == "hello there"
    assert closed
