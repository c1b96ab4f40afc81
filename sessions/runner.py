"""The agent loop: stream a turn, run the tools it asks for, send results back, repeat.

``Runner.send`` drives one user turn to its end (the model stops, ``max_steps``, an error, a
permission the caller refused to ask, or cancellation) and emits session events on the bus.
The store, the headless printers and the TUI are all subscribers; the runner writes nothing
itself except through them, apart from permission decisions and file before-images.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from opencode.sessions.config import Config
from opencode.sessions.events import (
    ErrorOccurred,
    EventBus,
    Finish,
    MessageFinished,
    MessageStarted,
    PartDelta,
    PartFinished,
    PartKind,
    PartStarted,
    PermissionAsked,
    ProviderError,
    ProviderEvent,
    ReasoningDelta,
    SessionStarted,
    TextDelta,
    ToolCallEnd,
    ToolFinished,
    ToolStarted,
    TurnFinished,
    Usage,
)
from opencode.sessions.ids import new_id
from opencode.sessions.providers.base import (
    ChatMessage,
    ChatRequest,
    Provider,
    ProviderConfig,
    ToolCall,
)
from opencode.sessions.store.db import Store
from opencode.sessions.store.sessions import MessageRecord, SessionRecord, SessionRepo
from opencode.sessions.tools.base import Tool, ToolContext, ToolResult

PermissionAnswer = Literal["allow_once", "allow_session", "deny"]
# A text part is split once it holds this much, so no single row update grows unbounded.
PART_SEGMENT_CHARS = 1 << 20
# A hard ceiling on one tool call, above the tools' own timeouts (bash allows up to 600 s).
TOOL_CEILING_S = 660.0

_INTERNAL_HINT = "this is a bug or a broken store; the session is saved, resume it with -c"

DEFAULT_SYSTEM_PROMPT = (
    "You are opencode, a coding agent working in the user's project at {cwd}. "
    "Use the tools to read, search and change files and to run commands; prefer small, exact "
    "edits; say briefly what you did."
)


@dataclass(frozen=True, slots=True)
class PermissionRequest:
    session_id: str
    call_id: str
    tool: str
    subject: str
    arguments: dict[str, Any]


PermissionAsker = Callable[[PermissionRequest], Awaitable[PermissionAnswer]]


class PermissionRequired(Exception):  # noqa: N818 - it is a signal, not an error
    """Raised by an asker that must not answer (headless ``--on-ask fail``): the turn ends."""


class RunnerError(Exception):
    """The turn could not start (unknown session, bad model); the message says what to do."""


ProviderFactory = Callable[[ProviderConfig], Provider]


def _default_factory(config: ProviderConfig) -> Provider:
    from opencode.sessions.providers.factory import make_provider

    provider: Provider = make_provider(config)
    return provider


@dataclass(slots=True)
class _Step:
    """What one streamed assistant message produced."""

    message_id: str
    text: io.StringIO = field(default_factory=io.StringIO)
    calls: list[ToolCallEnd] = field(default_factory=list)
    usage: Usage | None = None
    finish: str = "stop"
    error: ProviderError | None = None
    seq: int = 0

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


class Runner:
    def __init__(
        self,
        *,
        store: Store,
        config: Config,
        cwd: Path,
        bus: EventBus,
        permissions: Any,
        asker: PermissionAsker,
        provider_factory: ProviderFactory | None = None,
        tools: dict[str, Tool] | None = None,
    ) -> None:
        self.store = store
        self.repo = SessionRepo(store)
        self.config = config
        self.cwd = cwd
        self.bus = bus
        self.permissions = permissions
        self.asker = asker
        self.provider_factory = provider_factory or _default_factory
        self._providers: dict[str, Provider] = {}
        if tools is None:
            from opencode.sessions.tools.registry import builtin_tools

            tools = builtin_tools()
        self.tools = tools
        self._cancel = asyncio.Event()

    # ------------------------------------------------------------------ sessions

    async def start_session(
        self,
        *,
        session_id: str | None = None,
        continue_latest: bool = False,
        title: str | None = None,
        model: str | None = None,
    ) -> SessionRecord:
        record: SessionRecord | None = None
        if session_id:
            record = await self.repo.get(session_id)
            if record is None:
                raise RunnerError(
                    f"no session {session_id!r} in {self.store.path}; "
                    "list them with `opencode session list`"
                )
        elif continue_latest:
            record = await self.repo.latest(self.cwd)
            if record is None:
                raise RunnerError(
                    f"no earlier session in {self.cwd} to continue; drop -c to start one"
                )
        resumed = record is not None
        if record is None:
            ref = model or self.config.model
            self.config.resolve_model(ref)  # fail before creating anything
            record = await self.repo.create(cwd=self.cwd, model=ref, title=title or "")
        else:
            await self.repo.mark_unfinished_interrupted(record.id)
            for tool, subject in await self.repo.session_grants(record.id):
                self.permissions.grant_session(tool, subject)
            if title:
                await self.repo.set_title(record.id, title)
                record.title = title
        await self.bus.emit(
            SessionStarted(
                session_id=record.id,
                title=record.title,
                model=model or record.model,
                cwd=record.cwd,
                resumed=resumed,
            )
        )
        return record

    def _provider(self, config: ProviderConfig) -> Provider:
        provider = self._providers.get(config.name)
        if provider is None:
            provider = self.provider_factory(config)
            self._providers[config.name] = provider
        return provider

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()

    # ------------------------------------------------------------------ the loop

    async def send(
        self,
        session_id: str,
        text: str,
        *,
        model: str | None = None,
        max_steps: int | None = None,
        request_options: dict[str, Any] | None = None,
    ) -> TurnFinished:
        session = await self.repo.get(session_id)
        if session is None:
            raise RunnerError(f"no session {session_id!r}")
        ref = model or session.model or self.config.model
        provider_config, model_name = self.config.resolve_model(ref)
        try:
            provider = self._provider(provider_config)
        except Exception as exc:  # e.g. an unknown api in code that bypassed config checks
            raise RunnerError(f"provider {provider_config.name!r} cannot be used: {exc}") from exc
        offered = self._offered_tools({**provider_config.options, **(request_options or {})})
        history = history_messages(await self.repo.messages(session.id))
        if not session.title:
            session.title = _title_from(text)
            await self.repo.set_title(session.id, session.title)

        user_id = new_id("msg")
        await self.bus.emit(MessageStarted(session.id, user_id, "user"))
        await self.bus.emit(PartStarted(session.id, user_id, new_id("prt"), 1, "text", text))
        await self.bus.emit(MessageFinished(session.id, user_id, "stop"))
        history.append(ChatMessage(role="user", content=text))

        limit = max_steps or self.config.max_steps
        total = Usage()
        steps = 0
        finish = "stop"
        error_text: str | None = None
        step: _Step | None = None
        self._cancel = asyncio.Event()
        try:
            while True:
                if steps >= limit:
                    finish = "max_steps"
                    break
                steps += 1
                request = self._request(
                    model_name, history, provider_config, request_options, offered
                )
                step = _Step(message_id=new_id("msg"))
                await self.bus.emit(MessageStarted(session.id, step.message_id, "assistant", ref))
                await self._stream(session.id, step, provider.stream(request))
                total = _add(total, step.usage)
                if step.error is not None:
                    await self._emit_error(session.id, step, step.error)
                    await self.bus.emit(
                        MessageFinished(session.id, step.message_id, "error", step.usage)
                    )
                    finish, error_text = "error", _error_line(step.error)
                    break
                if not step.calls:
                    await self.bus.emit(
                        MessageFinished(session.id, step.message_id, step.finish, step.usage)
                    )
                    finish = step.finish
                    break
                history.append(
                    ChatMessage(
                        role="assistant",
                        content=step.text.getvalue(),
                        tool_calls=tuple(ToolCall(c.id, c.name, c.arguments) for c in step.calls),
                    )
                )
                for call in step.calls:
                    history.append(await self._run_tool(session.id, step, call, offered))
                await self.bus.emit(
                    MessageFinished(session.id, step.message_id, "tool_calls", step.usage)
                )
                step = None
        except PermissionRequired as exc:
            if step is not None:
                await self.bus.emit(
                    MessageFinished(session.id, step.message_id, "permission", step.usage)
                )
            finish, error_text = "permission_required", str(exc)
        except asyncio.CancelledError:
            self._cancel.set()
            if step is not None:
                await self.bus.emit(
                    MessageFinished(session.id, step.message_id, "interrupted", step.usage)
                )
            await self.bus.emit(TurnFinished(session.id, "interrupted", total, steps))
            raise
        except Exception as exc:
            # A bug or an unusable store must not leave the turn open with no finish: record
            # what happened where the user will see it, then end the turn as an error.
            error_text = f"internal error: {type(exc).__name__}: {exc}"
            if step is not None:
                await self._emit_error(
                    session.id, step, ProviderError(error_text, hint=_INTERNAL_HINT)
                )
                await self.bus.emit(
                    MessageFinished(session.id, step.message_id, "error", step.usage)
                )
            else:
                await self.bus.emit(
                    ErrorOccurred(session.id, None, new_id("prt"), 0, error_text, _INTERNAL_HINT)
                )
            finish = "error"
        event = TurnFinished(session.id, finish, total, steps, error_text)
        await self.bus.emit(event)
        return event

    def _request(
        self,
        model_name: str,
        history: list[ChatMessage],
        provider: ProviderConfig,
        request_options: dict[str, Any] | None,
        offered: dict[str, Tool],
    ) -> ChatRequest:
        """One model call. Provider options that shape it (all optional, from
        ``[provider.NAME]``): ``max_tokens``, ``temperature``, ``seed``; ``extra_body`` (fields
        merged into every request body); ``tools`` (false: send none; a list: only those);
        ``prefill`` (a table: ``text``, an assistant prefill, and ``extra_body``, sent only when
        the conversation ends with the user's message, i.e. on a turn's first step)."""
        from opencode.sessions.tools.registry import tool_specs

        options = {**provider.options, **(request_options or {})}
        system = self.config.system_prompt or DEFAULT_SYSTEM_PROMPT.format(cwd=self.cwd)
        extra = _table(options.get("extra_body"))
        messages = list(history)
        prefill = _table(options.get("prefill"))
        if prefill and messages and messages[-1].role == "user":
            text = prefill.get("text")
            if isinstance(text, str) and text:
                messages.append(ChatMessage(role="assistant", content=text))
            extra = {**extra, **_table(prefill.get("extra_body"))}
        return ChatRequest(
            model=model_name,
            messages=messages,
            system=system,
            tools=tool_specs(offered.values()),
            max_tokens=options.get("max_tokens"),
            temperature=options.get("temperature"),
            seed=options.get("seed"),
            extra=extra,
        )

    def _offered_tools(self, options: dict[str, Any]) -> dict[str, Tool]:
        """The tools a turn may use: ``tools = false`` none, a list only those. A call to any
        other tool is answered as unknown, whatever the model claims."""
        wanted = options.get("tools", True)
        if wanted is False:
            return {}
        if isinstance(wanted, list):
            return {name: tool for name, tool in self.tools.items() if name in wanted}
        return dict(self.tools)

    async def _stream(
        self, session_id: str, step: _Step, events: AsyncGenerator[ProviderEvent, None]
    ) -> None:
        open_part: tuple[str, PartKind, int] | None = None  # (part id, kind, chars so far)

        async def close_part() -> None:
            nonlocal open_part
            if open_part is not None:
                await self.bus.emit(PartFinished(session_id, open_part[0], open_part[1]))
                open_part = None

        async with aclosing(events) as stream:
            async for event in stream:
                if isinstance(event, TextDelta | ReasoningDelta):
                    if not event.text:
                        continue
                    kind: PartKind = "text" if isinstance(event, TextDelta) else "reasoning"
                    if open_part is not None and (
                        open_part[1] != kind or open_part[2] >= PART_SEGMENT_CHARS
                    ):
                        await close_part()
                    if open_part is None:
                        part_id = new_id("prt")
                        await self.bus.emit(
                            PartStarted(session_id, step.message_id, part_id, step.next_seq(), kind)
                        )
                        open_part = (part_id, kind, 0)
                    await self.bus.emit(PartDelta(session_id, open_part[0], kind, event.text))
                    open_part = (open_part[0], kind, open_part[2] + len(event.text))
                    if kind == "text":
                        step.text.write(event.text)
                elif isinstance(event, ToolCallEnd):
                    await close_part()
                    step.calls.append(event)
                elif isinstance(event, Usage):
                    step.usage = event
                elif isinstance(event, Finish):
                    step.finish = event.reason
                elif isinstance(event, ProviderError):
                    step.error = event
                    break
        await close_part()
        if step.calls and step.error is None:
            step.finish = "tool_calls"

    async def _emit_error(self, session_id: str, step: _Step, error: ProviderError) -> None:
        await self.bus.emit(
            ErrorOccurred(
                session_id,
                step.message_id,
                new_id("prt"),
                step.next_seq(),
                error.message,
                error.hint,
            )
        )

    async def _run_tool(
        self, session_id: str, step: _Step, call: ToolCallEnd, offered: dict[str, Tool]
    ) -> ChatMessage:
        from opencode.sessions.tools.base import ToolError
        from opencode.sessions.tools.registry import execute, parse_arguments

        part_id = new_id("prt")
        seq = step.next_seq()
        try:
            shown_args = json.loads(call.arguments) if call.arguments.strip() else {}
        except json.JSONDecodeError:
            shown_args = {}
        if not isinstance(shown_args, dict):
            shown_args = {}
        await self.bus.emit(
            ToolStarted(
                session_id,
                step.message_id,
                part_id,
                seq,
                call.id,
                call.name,
                shown_args,
                call.arguments,
            )
        )
        started = time.monotonic()
        status: Literal["completed", "error", "denied"]
        tool = offered.get(call.name)
        if tool is None:
            result = ToolResult(
                f"unknown tool {call.name!r}; available tools: "
                f"{', '.join(sorted(offered)) or '(none)'}",
                is_error=True,
            )
            status = "error"
        else:
            try:
                args = parse_arguments(tool, call.arguments)
            except ToolError as exc:
                result, status = ToolResult(str(exc), is_error=True), "error"
            else:
                try:
                    allowed = await self._check_permission(session_id, call, tool, args)
                except PermissionRequired as exc:
                    # Not run and not interrupted: say so on the call before the turn ends.
                    await self._finish_tool(
                        session_id, step, part_id, call, "denied", ToolResult(str(exc), True), 0
                    )
                    raise
                if not allowed:
                    subject = tool.permission_subject(args, self.cwd).subject
                    result = ToolResult(
                        f"Permission denied: the user did not allow {call.name} on {subject}. "
                        "Do not retry the same call; continue without it or ask the user.",
                        is_error=True,
                    )
                    status = "denied"
                else:
                    result = await self._execute(session_id, call, tool, args, execute)
                    status = "error" if result.is_error else "completed"
        duration = int((time.monotonic() - started) * 1000)
        await self._finish_tool(session_id, step, part_id, call, status, result, duration)
        return ChatMessage(
            role="tool",
            content=result.output,
            tool_call_id=call.id,
            name=call.name,
            is_error=result.is_error,
        )

    async def _finish_tool(
        self,
        session_id: str,
        step: _Step,
        part_id: str,
        call: ToolCallEnd,
        status: Literal["completed", "error", "denied"],
        result: ToolResult,
        duration_ms: int,
    ) -> None:
        await self.bus.emit(
            ToolFinished(
                session_id,
                step.message_id,
                part_id,
                new_id("prt"),
                step.next_seq(),
                call.id,
                call.name,
                status,
                result.output,
                duration_ms,
                result.metadata,
            )
        )

    async def _check_permission(
        self, session_id: str, call: ToolCallEnd, tool: Tool, args: dict[str, Any]
    ) -> bool:
        subject = tool.permission_subject(args, self.cwd)
        decision = self.permissions.decide(call.name, subject)
        if decision == "allow":
            return True
        if decision == "deny":
            await self.bus.emit(
                PermissionAsked(session_id, call.id, call.name, subject.subject, "deny", "config")
            )
            return False
        request = PermissionRequest(session_id, call.id, call.name, subject.subject, args)
        try:
            answer = await self.asker(request)
        except PermissionRequired:
            await self.bus.emit(
                PermissionAsked(
                    session_id,
                    call.id,
                    call.name,
                    subject.subject,
                    "deny",
                    "not asked (--on-ask fail)",
                )
            )
            raise
        await self.repo.record_permission(session_id, call.name, subject.subject, answer)
        if answer == "allow_session":
            self.permissions.grant_session(call.name, subject)
        allowed = answer != "deny"
        await self.bus.emit(
            PermissionAsked(
                session_id,
                call.id,
                call.name,
                subject.subject,
                "allow" if allowed else "deny",
                answer,
            )
        )
        return allowed

    async def _execute(
        self,
        session_id: str,
        call: ToolCallEnd,
        tool: Tool,
        args: dict[str, Any],
        execute: Callable[[Tool, dict[str, Any], ToolContext], Awaitable[ToolResult]],
    ) -> ToolResult:
        async def record(path: Path, before: bytes | None) -> None:
            await self.repo.record_file_change(session_id, call.id, path, before)

        ctx = ToolContext(
            cwd=self.cwd,
            session_id=session_id,
            call_id=call.id,
            record_change=record,
            cancel=self._cancel,
        )
        try:
            return await asyncio.wait_for(execute(tool, args, ctx), TOOL_CEILING_S)
        except TimeoutError:
            return ToolResult(
                f"tool {call.name} did not finish within {TOOL_CEILING_S:.0f} s and was stopped",
                is_error=True,
            )


def _table(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _add(total: Usage, usage: Usage | None) -> Usage:
    if usage is None:
        return total
    return Usage(
        total.input_tokens + usage.input_tokens,
        total.output_tokens + usage.output_tokens,
        total.cache_read_tokens + usage.cache_read_tokens,
        total.cache_write_tokens + usage.cache_write_tokens,
    )


def _error_line(error: ProviderError) -> str:
    return f"{error.message} (hint: {error.hint})" if error.hint else error.message


def _title_from(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "untitled"
    return line[:60] + ("…" if len(line) > 60 else "")


def history_messages(messages: list[MessageRecord]) -> list[ChatMessage]:
    """Rebuild the provider-neutral conversation from stored messages.

    Interrupted assistant messages keep the text they received. A tool call with no stored
    result (the process died while it ran) gets one saying so, since every API requires a
    result for every call.
    """
    history: list[ChatMessage] = []
    for message in messages:
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
