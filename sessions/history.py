"""Stored records -> the provider-neutral conversation (``ChatMessage``s) for the next turn.

Only reads records: it never touches the store, so the proxy or a subagent can rebuild a
conversation from any session's messages the same way the runner does.
"""

from __future__ import annotations

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
            text = message.text()
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
