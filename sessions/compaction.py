"""Compaction: when a session's context grows past a share of the model's window, the model
summarises the older part, and later requests send that summary instead.

A compaction is a new VIEW over the session, never an edit: the messages stay in the store
(``session show --full``, export and search see them all); a ``compaction`` row records the
point (``upto_message_id``) and the summary, and ``load_history`` builds the next request from
the newest one (``history.compacted_history``): summary + the user's own earlier messages
verbatim (within ``keep_user_tokens``) + the most recent turns. Tool outputs are what the
summary condenses.

The summary is a normal provider call of the session's model, through the engine's provider
factory (resilience included), with the summarisation prompt below and no tools. This module
writes the ``compaction`` row itself: it is not a message or part, and it must exist before
the next turn is sent.

Settings (``[compaction]``): ``threshold`` (0.8 of the window), ``auto`` (true),
``keep_recent_turns`` (2), ``keep_user_tokens`` (2000). The window is ``[provider.X]
context_window`` (or a local model's ``n_ctx``), else 8,192 for local servers and 128,000
otherwise. Tokens are estimated as characters / 4.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from opencode.sessions.events import ProviderError, TextDelta
from opencode.sessions.history import compacted_history, history_messages
from opencode.sessions.ids import new_id
from opencode.sessions.providers.base import ChatMessage, ChatRequest

if TYPE_CHECKING:
    from opencode.sessions.config import Config
    from opencode.sessions.providers.base import ProviderConfig
    from opencode.sessions.runner import Runner
    from opencode.sessions.store.db import Store
    from opencode.sessions.store.sessions import MessageRecord, SessionRepo

LOCAL_WINDOW = 8_192
REMOTE_WINDOW = 128_000
CHARS_PER_TOKEN = 4
# Each tool output is cut to this many characters in the transcript the summariser reads.
TOOL_OUTPUT_CHARS = 1_500

SUMMARY_SYSTEM = (
    "You compact a coding-agent conversation so the work can continue in a fresh context. "
    "Write a summary another instance of you can continue from, in this order:\n"
    "1. Goals: what the user asked for, in their words where it matters.\n"
    "2. Todos: what is still open, verbatim if the user or you wrote a todo list.\n"
    "3. State: decisions made, files read or changed (paths), commands run and what they "
    "showed (condense tool output to the facts that matter: errors, results, names).\n"
    "4. Next step.\n"
    "Be specific (paths, names, numbers); leave out pleasantries. Do not call tools."
)


class CompactionError(Exception):
    """The summary could not be made (provider error, empty reply, nothing to compact)."""


@dataclass(slots=True)
class Compaction:
    id: str
    session_id: str
    upto_message_id: str
    summary: str
    focus: str | None
    model: str | None
    trigger: str
    tokens_before: int | None
    tokens_after: int | None
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "session_id": self.session_id,
            "upto_message_id": self.upto_message_id,
            "summary": self.summary,
            "focus": self.focus,
            "model": self.model,
            "trigger": self.trigger,
            "tokens_before": self.tokens_before,
            "tokens_after": self.tokens_after,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class Settings:
    threshold: float = 0.8
    auto: bool = True
    keep_recent_turns: int = 2
    keep_user_tokens: int = 2_000

    @classmethod
    def from_config(cls, config: Config) -> Settings:
        from opencode.sessions.config import ConfigError

        raw = config.section("compaction")
        try:
            threshold = float(raw.get("threshold", 0.8))
            keep = int(raw.get("keep_recent_turns", 2))
            user = int(raw.get("keep_user_tokens", 2_000))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"[compaction]: {exc}; see opencode.toml for the keys") from exc
        if not 0.05 <= threshold <= 1.0:
            raise ConfigError(
                f"[compaction] threshold = {threshold}: give a share of the context window "
                "between 0.05 and 1.0 (default 0.8)"
            )
        return cls(threshold, bool(raw.get("auto", True)), max(0, keep), max(0, user))


def estimate_tokens(history: list[ChatMessage]) -> int:
    chars = 0
    for message in history:
        chars += len(message.content)
        chars += sum(len(c.arguments) + len(c.name) for c in message.tool_calls)
    return chars // CHARS_PER_TOKEN


def context_window(provider: ProviderConfig, model: str = "") -> int:
    """The model's window in tokens: what config sets for it (the same reading as the
    context meter's: a number or a table per model, a local model's n_ctx, a model family's
    known window), else a default by where the model runs."""
    from opencode.sessions.providers.resilience.context import configured_window

    configured = configured_window(provider, model)
    if configured:
        return configured
    value = provider.options.get("n_ctx")
    if isinstance(value, int) and value > 0:
        return value
    host = urlparse(provider.base_url).hostname or ""
    local = provider.api in ("local", "ollama") or host in ("localhost", "127.0.0.1", "::1")
    return LOCAL_WINDOW if local else REMOTE_WINDOW


def _compaction(row: Any) -> Compaction:
    return Compaction(**{k: row[k] for k in row.keys()})  # noqa: SIM118 - sqlite3.Row


async def latest(store: Store, session_id: str) -> Compaction | None:
    row = await store.fetchone(
        "SELECT * FROM compaction WHERE session_id = ? ORDER BY created_at DESC, id DESC LIMIT 1",
        (session_id,),
    )
    return _compaction(row) if row else None


async def all_for(store: Store, session_id: str) -> list[Compaction]:
    rows = await store.fetchall(
        "SELECT * FROM compaction WHERE session_id = ? ORDER BY created_at, id", (session_id,)
    )
    return [_compaction(r) for r in rows]


def view(
    messages: list[MessageRecord],
    compaction: Compaction | None,
    settings: Settings,
    window: int = REMOTE_WINDOW,
) -> list[ChatMessage]:
    """The conversation as the model sees it. The user's verbatim messages get at most
    ``keep_user_tokens``, and never more than a quarter of the window, so a compaction
    always leaves room."""
    if compaction is None:
        return history_messages(messages)
    budget = min(settings.keep_user_tokens, window // 4)
    return compacted_history(
        messages, compaction.upto_message_id, compaction.summary, budget * CHARS_PER_TOKEN
    )


def window_for(config: Config, ref: str) -> int:
    from opencode.sessions.config import ConfigError

    try:
        provider_config, model_name = config.resolve_model(ref)
    except ConfigError:
        return REMOTE_WINDOW
    return context_window(provider_config, model_name)


async def load_history(
    repo: SessionRepo, config: Config, session_id: str, model: str | None = None
) -> list[ChatMessage]:
    """What the model sees of a stored session: its newest compaction applied, if any."""
    messages = await repo.messages(session_id)
    compaction = await latest(repo.store, session_id)
    if compaction is None:
        return history_messages(messages)
    session = await repo.get(session_id)
    ref = model or (session.model if session else "") or config.model
    return view(messages, compaction, Settings.from_config(config), window_for(config, ref))


def split_point(messages: list[MessageRecord], keep_recent_turns: int) -> str | None:
    """The id of the last message to compact: everything before the last
    ``keep_recent_turns`` user turns. None when there is nothing older than those."""
    user_ids = [m.id for m in messages if m.role == "user"]
    if len(user_ids) <= keep_recent_turns:
        return None
    first_kept = user_ids[len(user_ids) - keep_recent_turns] if keep_recent_turns else None
    older = [m.id for m in messages if first_kept is None or m.id < first_kept]
    return older[-1] if older else None


def transcript(messages: list[MessageRecord]) -> str:
    """The part to summarise as plain text; long tool outputs cut in the middle."""
    lines: list[str] = []
    for message in messages:
        for part in message.parts:
            if part.kind == "text" and part.content.strip():
                who = "USER" if message.role == "user" else "ASSISTANT"
                lines.append(f"{who}: {part.content}")
            elif part.kind == "tool_call":
                lines.append(f"TOOL CALL {part.tool_name}: {part.tool_args or '{}'}")
            elif part.kind == "tool_result":
                out = part.content
                if len(out) > TOOL_OUTPUT_CHARS:
                    half = TOOL_OUTPUT_CHARS // 2
                    cut = len(out) - 2 * half
                    out = f"{out[:half]}\n[... {cut} characters cut ...]\n{out[-half:]}"
                lines.append(f"TOOL RESULT ({part.status}):\n{out}")
            elif part.kind == "error":
                lines.append(f"ERROR: {part.content}")
    return "\n\n".join(lines)


def summary_request_text(
    previous: Compaction | None, messages: list[MessageRecord], focus: str | None
) -> str:
    blocks = []
    if previous is not None:
        blocks.append(f"Summary of the conversation before this part:\n{previous.summary}")
    blocks.append("The conversation to summarise:\n\n" + transcript(messages))
    if focus:
        blocks.append(f"Focus the summary on: {focus}")
    return "\n\n".join(blocks)


async def compact(
    runner: Runner,
    session_id: str,
    *,
    model: str | None = None,
    focus: str | None = None,
    trigger: str = "manual",
) -> Compaction:
    """Summarise the session up to its recent turns with its model; record the point."""
    store = runner.store
    settings = Settings.from_config(runner.config)
    session = await runner.repo.get(session_id)
    if session is None:
        raise CompactionError(f"no session {session_id!r}")
    messages = await runner.repo.messages(session.id)
    previous = await latest(store, session.id)
    upto = split_point(messages, settings.keep_recent_turns)
    if upto is None or (previous is not None and upto <= previous.upto_message_id):
        raise CompactionError(
            f"nothing to compact in {session.id}: it has no more than the "
            f"{settings.keep_recent_turns} most recent turns since the last compaction "
            "([compaction] keep_recent_turns)"
        )
    after = previous.upto_message_id if previous is not None else ""
    span = [m for m in messages if after < m.id <= upto]
    ref = model or session.model or runner.config.model
    window = window_for(runner.config, ref)
    before_tokens = estimate_tokens(view(messages, previous, settings, window))
    provider_config, model_name = runner.config.resolve_model(ref)
    request = ChatRequest(
        model=model_name,
        system=SUMMARY_SYSTEM,
        messages=[ChatMessage(role="user", content=summary_request_text(previous, span, focus))],
    )
    provider = runner.provider_factory(provider_config)
    chunks: list[str] = []
    try:
        async for event in provider.stream(request):
            if isinstance(event, TextDelta):
                chunks.append(event.text)
            elif isinstance(event, ProviderError):
                hint = f" ({event.hint})" if event.hint else ""
                raise CompactionError(f"the summary call failed: {event.message}{hint}")
    finally:
        await provider.aclose()
    summary = "".join(chunks).strip()
    if not summary:
        raise CompactionError(f"{ref} returned an empty summary; nothing was compacted")
    record = Compaction(
        id=new_id("cmp"),
        session_id=session.id,
        upto_message_id=upto,
        summary=summary,
        focus=focus or None,
        model=ref,
        trigger=trigger,
        tokens_before=before_tokens,
        tokens_after=0,
        created_at=time.time(),
    )
    record.tokens_after = estimate_tokens(view(messages, record, settings, window))
    await store.execute(
        "INSERT INTO compaction (id, session_id, upto_message_id, summary, focus, model,"
        " trigger, tokens_before, tokens_after, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.id,
            record.session_id,
            record.upto_message_id,
            record.summary,
            record.focus,
            record.model,
            record.trigger,
            record.tokens_before,
            record.tokens_after,
            record.created_at,
        ),
    )
    return record


async def maybe_compact(
    runner: Runner,
    session_id: str,
    incoming: str,
    model: str | None = None,
    on_start: Callable[[], None] | None = None,
) -> Compaction | None:
    """Before a turn: compact when the history plus the new message passes the threshold.
    ``on_start`` is told once it will (the summary call takes seconds: a front end says so
    meanwhile). A failure here does not stop the turn (the provider may still take it); it
    returns None."""
    settings = Settings.from_config(runner.config)
    if not settings.auto or await runner.repo.count_messages(session_id) == 0:
        return None
    session = await runner.repo.get(session_id)
    if session is None:
        return None
    provider_config, model_name = runner.config.resolve_model(
        model or session.model or runner.config.model
    )
    history = await load_history(runner.repo, runner.config, session_id, model)
    tokens = estimate_tokens(history) + len(incoming) // CHARS_PER_TOKEN
    if tokens < settings.threshold * context_window(provider_config, model_name):
        return None
    if on_start is not None:
        on_start()
    try:
        return await compact(runner, session_id, model=model, trigger="auto")
    except CompactionError:
        return None
