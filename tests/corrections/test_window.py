"""Rules applied to streamed text: a match split at any chunk boundary is replaced before any
of it leaves, and the result never depends on where the stream was cut."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opencode.sessions.corrections.rules import CompiledRule, Rule, RuleError, compile_rule
from opencode.sessions.corrections.window import Hit, Rewriter, rewrite_all


def rule(pattern: str, replacement: str, *, regex: bool = False, **kw: object) -> CompiledRule:
    return compile_rule(Rule(pattern=pattern, replacement=replacement, regex=regex, **kw))  # type: ignore[arg-type]


def stream(rules: list[CompiledRule], pieces: list[str]) -> tuple[str, list[str]]:
    """Feed ``pieces``; return the output and what left the rewriter after each piece."""
    rewriter = Rewriter(rules)
    sent = [rewriter.feed(piece) for piece in pieces]
    sent.append(rewriter.flush())
    return "".join(sent), sent


def test_a_literal_split_across_chunks_is_replaced() -> None:
    out, sent = stream([rule("secret-word", "[ok]")], ["say sec", "ret-", "word now"])
    assert out == "say [ok] now"
    assert not any("sec" in piece for piece in sent)


def test_regex_groups_in_the_replacement() -> None:
    r = rule(r"(\w{1,20})@example\.com", r"\1 at example dot com", regex=True)
    assert rewrite_all([r], "mail bob@example.com now") == "mail bob at example dot com now"


def test_word_boundary_looks_at_the_next_chunk() -> None:
    r = rule(r"\bteh\b", "the", regex=True)
    out, _ = stream([r], ["fix teh", "re and teh", " end teh"])
    assert out == "fix tehre and the end the"


def test_shadow_mode_logs_but_changes_nothing() -> None:
    hits: list[Hit] = []
    r = rule("colour", "color", mode="shadow")
    rewriter = Rewriter([r], hits.append)
    out = rewriter.feed("the col") + rewriter.feed("our red") + rewriter.flush()
    assert out == "the colour red"
    assert [(h.before, h.after, h.applied) for h in hits] == [("colour", "color", False)]


def test_priority_decides_between_rules_matching_at_the_same_place() -> None:
    low = rule("cat", "dog", priority=0)
    high = rule("cats", "felines", priority=5)
    assert rewrite_all([low, high], "two cats") == "two felines"
    assert rewrite_all([low], "two cats") == "two dogs"


def test_text_without_a_possible_match_is_sent_at_once() -> None:
    r = rule("xyz", "!")
    rewriter = Rewriter([r])
    # Only the last len("xyz") - 1... at most `hold` characters are kept back.
    assert rewriter.feed("hello world") == "hello wo"
    assert rewriter.flush() == "rld"
    assert rewriter.held_max <= r.hold


def test_no_rules_is_a_pass_through() -> None:
    rewriter = Rewriter([])
    assert rewriter.feed("abc") == "abc" and rewriter.flush() == ""


@pytest.mark.parametrize(
    ("pattern", "complaint"),
    [
        (".*", "without a length bound"),
        ("a+", "without a length bound"),
        ("x?", "empty string"),
        ("^foo", "anchor ^"),
        ("foo$", "anchor $"),
        ("foo(?=bar)", "lookahead"),
        ("(?<=a)b", "lookahead or lookbehind"),
        ("(unclosed", "bad regular expression"),
    ],
)
def test_rules_a_stream_cannot_apply_are_refused_when_added(pattern: str, complaint: str) -> None:
    with pytest.raises(RuleError, match=re.escape(complaint)):
        rule(pattern, "x", regex=True)


def test_bad_group_reference_is_refused_when_added() -> None:
    with pytest.raises(RuleError, match="bad replacement"):
        rule("(a)b", r"\2", regex=True)


def test_bad_scope_and_mode_are_refused() -> None:
    with pytest.raises(RuleError, match="scope"):
        rule("a", "b", scope="everything")
    with pytest.raises(RuleError, match="mode"):
        rule("a", "b", mode="maybe")


def test_width_of_bounded_patterns_is_the_hold_window() -> None:
    assert rule("abc", "x").hold == 3
    assert rule("a{1,5}b", "x", regex=True).hold == 6
    assert rule(r"\bab\b", "x", regex=True).hold == 3  # one more: the character after


# ---------------------------------------------------------------------------- fuzzing the cuts

ALPHABET = "ab c\n"
RULES = [
    [rule("ab", "X")],
    [rule("aba", "<>")],
    [rule("a b", "")],
    [rule(r"a{1,3}b", r"[\g<0>]", regex=True)],
    [rule(r"\bab\b", "W", regex=True)],
    [rule("ab", "1", priority=1), rule("b c", "2")],
    [rule(r"(a|b){2,4}", r"<\1>", regex=True), rule("c", "C", mode="shadow")],
]


def cut(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=ALPHABET, max_size=40),
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=12),
    which=st.integers(min_value=0, max_value=len(RULES) - 1),
)
def test_any_cut_of_the_stream_gives_the_whole_text_result(
    text: str, cuts: list[int], which: int
) -> None:
    rules = RULES[which]
    whole = rewrite_all(rules, text)
    out, _ = stream(rules, cut(text, cuts))
    assert out == whole
    if len(rules) == 1 and rules[0].rule.mode == "apply":
        # The single-rule case agrees with re.sub on the whole text.
        assert whole == rules[0].regex.sub(lambda m: rules[0].expand(m), text)


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.text(alphabet="xyz ", max_size=20),
    suffix=st.text(alphabet="xyz ", max_size=20),
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=10),
)
def test_a_secret_never_leaks_even_in_part(prefix: str, suffix: str, cuts: list[int]) -> None:
    secret = "SECRET-TOKEN"
    r = rule(secret, "[gone]")
    text = prefix + secret + suffix
    out, sent = stream([r], cut(text, cuts))
    assert secret not in out and out == prefix + "[gone]" + suffix
    # No piece that left carries a part of the secret that the replacement does not explain:
    # everything sent before the replacement is a prefix of `prefix`.
    sent_text = ""
    for piece in sent:
        sent_text += piece
        if "[gone]" not in sent_text:
            assert prefix.startswith(sent_text), (sent_text, prefix)
