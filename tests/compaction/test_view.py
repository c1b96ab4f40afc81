"""The compacted view and its helpers, on records built by hand (no store needed)."""

from __future__ import annotations

from opencode.sessions.compaction import context_window, split_point
from opencode.sessions.history import COMPACTED_ACK, compacted_history
from opencode.sessions.providers.base import ProviderConfig
from opencode.sessions.store.sessions import MessageRecord, PartRecord


def _msg(n: int, role: str, text: str, tool_output: str = "") -> MessageRecord:
    mid = f"msg_{n:04d}"
    parts = [PartRecord(f"p{n}", mid, 1, "text", text, None, None, None, "done")]
    if tool_output:
        parts.append(
            PartRecord(f"c{n}", mid, 2, "tool_call", "", "bash", f"call{n}", "{}", "completed")
        )
        parts.append(
            PartRecord(
                f"r{n}", mid, 3, "tool_result", tool_output, "bash", f"call{n}", None, "completed"
            )
        )
    return MessageRecord(mid, "s", role, None, "stop", None, None, float(n), parts)


def test_user_messages_newest_first_within_budget_and_tool_output_gone() -> None:
    messages = [
        _msg(1, "user", "A" * 50),
        _msg(2, "assistant", "ran it", "BIG TOOL OUTPUT"),
        _msg(3, "user", "B" * 50),
        _msg(4, "assistant", "ok"),
        _msg(5, "user", "recent question"),
        _msg(6, "assistant", "recent answer"),
    ]
    view = compacted_history(messages, "msg_0004", "the summary", keep_user_chars=60)
    first = view[0].content
    assert "the summary" in first and "B" * 50 in first and "A" * 50 not in first
    assert "1 older ones are covered by the summary" in first
    assert view[1].content == COMPACTED_ACK
    assert [m.content for m in view[2:]] == ["recent question", "recent answer"]
    assert all("BIG TOOL OUTPUT" not in m.content for m in view)


def test_split_point_keeps_the_recent_user_turns() -> None:
    messages = [_msg(i, "user" if i % 2 else "assistant", str(i)) for i in range(1, 7)]
    assert split_point(messages, 2) == "msg_0002"
    assert split_point(messages, 0) == "msg_0006"
    assert split_point(messages, 3) is None


def test_context_window_defaults() -> None:
    remote = ProviderConfig("openai", "openai", "https://api.openai.com/v1")
    local = ProviderConfig("llamacpp", "openai", "http://127.0.0.1:8080/v1")
    configured = ProviderConfig("x", "openai", "https://x", options={"context_window": 32000})
    assert context_window(remote) == 128_000
    assert context_window(local) == 8_192
    assert context_window(configured) == 32_000
