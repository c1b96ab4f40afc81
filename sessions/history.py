"""Stored records -> the provider-neutral conversation (``ChatMessage``s) for the next turn.

Only reads records: it never touches the store, so the proxy or a subagent can rebuild a
conversation from any session's messages the same way the runner does.
"""

from __future__ import annotations

from opencode.sessions.mentions import attached_context, user_content
from opencode.sessions.providers.base import ChatMessage, ToolCall
from opencode.sessions.store.sessions import MessageRecord


def history_messages(messages: list[MessageRecord]) -> list[ChatMessage]:
    """Rebuild the provider-neutral conversation from stored messages.

    Interrupted assistant messages keep the text they received. A tool call with no stored
    result (the process died while it ran) gets one saying so, since every API requires a
    result for every call. Messages a conversation rewind marked are skipped.
    """
    history: list[ChatMessage] = []
    for message in messages:
        if message.rewound_at is not None:
            continue  # taken out of the conversation by a rewind (the row is kept)
        if message.role == "user":
            # What the user typed, then what it attached (``@path`` mentions, a ``!``
            # command's output), stored as the message's own tool parts (mentions.py).
            text = user_content(message.text(), attached_context(message))
            if text:
                history.append(ChatMessage(role="user", content=text))
            continue
        calls: list[ToolCall] = []
        results: dict[str, ChatMessage] = {}
        for part in message.parts:
            if part.kind == "tool_call" and part.tool_call_id:
                calls.append(
                    ToolCall(part.tool_call_id, part.tool_name or "", part.tool_args or "{}")
                )
            elif part.kind == "tool_result" and part.tool_call_id:
                results[part.tool_call_id] = ChatMessage(
                    role="tool",
                    content=part.content,
                    tool_call_id=part.tool_call_id,
                    name=part.tool_name,
                    is_error=part.status != "completed",
                )
        text = message.text()
        if not text and not calls:
            continue
        history.append(ChatMessage(role="assistant", content=text, tool_calls=tuple(calls)))
        for call in calls:
            history.append(
                results.get(call.id)
                or ChatMessage(
                    role="tool",
                    content="(no result: the session was interrupted while this tool ran)",
                    tool_call_id=call.id,
                    name=call.name,
                    is_error=True,
                )
            )
    return history


# ---------------------------------------------------------------------- compaction view
# A compaction (sessions/compaction.py) replaces the messages up to ``upto_message_id`` with a
# summary in what the model sees; the stored messages themselves are never changed.

COMPACTED_ACK = "Understood: I have the summary and your earlier messages. Continuing from there."


def compacted_history(
    messages: list[MessageRecord], upto_message_id: str, summary: str, keep_user_chars: int
) -> list[ChatMessage]:
    """The summary (with the user's own earlier messages verbatim, newest first while they
    fit in ``keep_user_chars``), then every message after the compaction point as usual."""
    old = [m for m in messages if m.id <= upto_message_id]
    recent = [m for m in messages if m.id > upto_message_id]
    said = [m.text() for m in old if m.role == "user" and m.text().strip()]
    kept: list[str] = []
    used = 0
    for text in reversed(said):
        if used + len(text) > keep_user_chars:
            break
        kept.append(text)
        used += len(text)
    kept.reverse()
    body = "[Summary of the earlier part of this conversation, which was compacted]\n" + summary
    if kept:
        omitted = len(said) - len(kept)
        note = f"; {omitted} older ones are covered by the summary" if omitted else ""
        body += f"\n\n[My earlier messages, verbatim{note}]\n" + "\n---\n".join(kept)
    return [
        ChatMessage(role="user", content=body),
        ChatMessage(role="assistant", content=COMPACTED_ACK),
        *history_messages(recent),
    ]
