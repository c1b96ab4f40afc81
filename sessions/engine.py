"""THE one assembly of a session engine: store + bus + store writer + permissions + runner +
provider factory. Headless ``opencode run`` and the TUI get theirs here (the proxy and
subagents are meant to as well); none of them wires these parts itself.

The store writer is the bus's first subscriber, fixed when the engine is made, so every event
is persisted before any other subscriber (a printer, the transcript) sees it. ``session`` is
kept current from events (title, token counts), never by reading SQLite back after a turn.

Several engines may share one ``Store`` in one process (pass ``store=`` to ``open``): each has
its own bus, writer and runner, and the store's lock keeps their transactions apart. An engine
closes the store only if it opened it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opencode.sessions.events import (
    EventBus,
    MessageFinished,
    SessionEvent,
    SessionStarted,
    SessionTitled,
    TurnFinished,
    Usage,
)

if TYPE_CHECKING:
    from opencode.sessions.compaction import Compaction
    from opencode.sessions.config import Config
    from opencode.sessions.mcp.manager import McpManager
    from opencode.sessions.permissions_api import PermissionAsker
    from opencode.sessions.providers.base import ProviderConfig
    from opencode.sessions.providers.resilience.chain import Notice
    from opencode.sessions.providers.resilience.hub import ResilienceHub
    from opencode.sessions.runner import ProviderFactory, Runner
    from opencode.sessions.store.db import Store
    from opencode.sessions.store.sessions import MessageRecord, SessionRecord, SessionRepo
    from opencode.sessions.store.writer import StoreWriter
    from opencode.sessions.subagents import ChildOutcome
    from opencode.sessions.tools.base import Tool


class EngineNotOpen(RuntimeError):  # noqa: N818 - reads as the state it reports
    """The engine was used before ``open()`` was awaited (a bug in the caller)."""


class Engine:
    def __init__(
        self,
        config: Config,
        cwd: Path,
        *,
        provider_factory: ProviderFactory | None = None,
        tools: dict[str, Tool] | None = None,
        allow: Iterable[str] = (),
        allow_all: bool = False,
    ) -> None:
        """``allow``/``allow_all`` are headless ``--allow``/``--yes``; ``provider_factory`` and
        ``tools`` replace the real ones (tests, subagents with a reduced tool set)."""
        self.config = config
        self.cwd = cwd
        self.provider_factory = provider_factory
        self.tools = tools
        self.allow = frozenset(allow)
        self.allow_all = allow_all
        self.bus = EventBus()
        # First subscriber, before anyone else can subscribe: persisted before shown.
        self.bus.subscribe(self._persist)
        self.bus.subscribe(self._track)
        self.session: SessionRecord | None = None
        self.model: str | None = None
        self._store: Store | None = None
        self._owns_store = False
        self._repo: SessionRepo | None = None
        self._writer: StoreWriter | None = None
        self._runner: Runner | None = None
        self._asker: PermissionAsker | None = None
        # The provider layer's decisions (fallback answered, breaker open, waiting for a rate
        # limit): front ends set ``on_notice`` to show them; ``notices`` keeps this turn's.
        self._hub: ResilienceHub | None = None
        self.on_notice: Callable[[Notice], None] | None = None
        self.notices: list[Notice] = []
        # Told when an automatic compaction happened before a turn (front ends say so).
        self.on_compacted: Callable[[Compaction], None] | None = None
        # Told True when that compaction starts, before its summary call (seconds of
        # silence); False when it ended without compacting (else ``on_compacted`` is told).
        self.on_compacting: Callable[[bool], None] | None = None
        # For the context meter: the last call's usage, the model that answered it when a
        # fallback did, and context windows learnt from endpoints (by PROVIDER/MODEL).
        self.last_usage: Usage | None = None
        self.answered_by: str | None = None
        self._windows: dict[str, int] = {}
        self._probed: set[str] = set()
        # MCP servers ([mcp.*], .mcp.json): one manager per engine, made on first use, its
        # servers started on the first turn that offers tools. ``mcp_warn`` gets one line per
        # server problem (default: stderr; a front end that owns the screen replaces it).
        self.mcp_warn: Callable[[str], None] | None = None
        self._mcp: McpManager | None = None
        self._mcp_checked = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def is_open(self) -> bool:
        return self._store is not None

    @property
    def store(self) -> Store:
        if self._store is None:
            raise EngineNotOpen("Engine.open() was not awaited")
        return self._store

    @property
    def repo(self) -> SessionRepo:
        if self._repo is None:
            raise EngineNotOpen("Engine.open() was not awaited")
        return self._repo

    async def open(self, asker: PermissionAsker, *, store: Store | None = None) -> None:
        """Open the configured database (or borrow ``store``, left open by ``close``)."""
        from opencode.sessions.store.db import Store
        from opencode.sessions.store.sessions import SessionRepo
        from opencode.sessions.store.writer import StoreWriter

        self._asker = asker
        self._owns_store = store is None
        self._store = store if store is not None else await Store.open(self.config.db_path)
        self._repo = SessionRepo(self._store)
        self._writer = StoreWriter(self._store)
        await _prune_audit(self._store, self.config)

    async def close(self) -> None:
        """Write what is buffered, close the providers, and the store if this engine opened
        it. Safe to call twice."""
        await self.flush()
        if self._runner is not None:
            await self._runner.aclose()
            self._runner = None
        if self._hub is not None:
            await self._hub.aclose()
            self._hub = None
        if self._mcp is not None:
            await self._mcp.aclose()
        self._mcp, self._mcp_checked = None, False
        if self._store is not None and self._owns_store:
            await self._store.close()
        self._store = None
        self._repo = None
        self._writer = None

    # ------------------------------------------------------------------ sessions and turns

    def runner(self) -> Runner:
        if self._runner is None:
            from opencode.sessions.runner import Runner
            from opencode.sessions.tools.permissions import Permissions

            if self._asker is None:
                raise EngineNotOpen("Engine.open() was not awaited")
            factory = self.provider_factory
            if factory is None:
                # Fallback chains, breakers, rate limits and the call audit wrap every real
                # provider; a bad [provider] resilience key is a ConfigError here (exit 2).
                from opencode.sessions.providers.resilience.hub import ResilienceHub

                if self._hub is None:
                    self._hub = ResilienceHub.from_config(
                        self.config, self.store, observer=self._notice
                    )
                factory = self._hub.provider_factory
            self._runner = Runner(
                store=self.store,
                config=self.config,
                cwd=self.cwd,
                bus=self.bus,
                permissions=Permissions(
                    self.config.permission,
                    self.cwd,
                    allow=self.allow,
                    allow_all=self.allow_all,
                    # The sandbox of the config loaded at start: the one bash runs under.
                    sandbox=self.config.sandbox,
                ),
                asker=self._asker,
                provider_factory=factory,
                tools=self.tools,
                mcp=self.mcp(),
            )
        return self._runner

    def mcp(self) -> McpManager | None:
        """The MCP servers of this engine, or None when none is configured (then the SDK is
        never imported). Engines given their own ``tools`` (tests, subagents) get none."""
        if not self._mcp_checked:
            self._mcp_checked = True
            from opencode.sessions.mcp.specs import has_servers

            if self.tools is None and has_servers(self.config, self.cwd):
                from opencode.sessions.mcp.manager import McpManager, stderr_warning
                from opencode.sessions.tools.registry import builtin_tools

                self._mcp = McpManager.from_config(
                    self.config,
                    self.cwd,
                    warn=self.mcp_warn or stderr_warning,
                    reserved=frozenset(builtin_tools()),
                )
        return self._mcp

    async def start(
        self,
        *,
        session_id: str | None = None,
        continue_latest: bool = False,
        model: str | None = None,
        title: str | None = None,
        parent_id: str | None = None,
    ) -> SessionRecord:
        """Resume a session (by id or the latest here) or begin a new one, and make it current.

        A new session has no row until its first message is written. A new runner is made
        per session so session-scoped permission grants do not leak between sessions.
        """
        if self._runner is not None:
            await self._runner.aclose()
            self._runner = None
        if model:
            self.model = model
        self.session = await self.runner().start_session(
            session_id=session_id,
            continue_latest=continue_latest,
            title=title,
            model=self.model,
            parent_id=parent_id,
        )
        if self.session.parent_id is not None and (session_id or continue_latest):
            # a subagent's session continued on its own keeps its agent profile
            from opencode.sessions.subagents import resume_profile

            await resume_profile(self.runner(), self.session)
        return self.session

    async def send(
        self,
        text: str,
        *,
        max_steps: int | None = None,
        model: str | None = None,
        request_options: dict[str, Any] | None = None,
        max_cost: float | None = None,
        mentions: bool = False,
    ) -> TurnFinished:
        """One user turn in the current session (a new one if there is none). ``model`` and
        ``request_options`` apply to this turn only (a custom command's model and tools).
        ``mentions``: the text is what the user typed (not a custom command's expansion, a
        subagent's or a workflow's prompt), so its ``@path`` mentions are attached."""
        from opencode.sessions.providers.resilience.audit import call_session

        if self.session is None:
            await self.start()
        assert self.session is not None
        self.notices = []
        with call_session(self.session.id):  # provider_call rows name this session
            # Past [compaction] threshold of the window: summarise the older turns first.
            await self.maybe_compact(text, model=model)
            return await self.runner().send(
                self.session.id,
                text,
                model=model or self.model,
                max_steps=max_steps,
                request_options=request_options,
                max_cost=max_cost,
                mentions=mentions,
            )

    async def shell(self, command: str) -> TurnFinished:
        """A ``!command`` the user typed, in the current session (a new one if there is
        none): run, shown, and kept as context for the next turn (sessions/shell_mode.py)."""
        if self.session is None:
            await self.start()
        assert self.session is not None
        return await self.runner().shell(self.session.id, command)

    async def compact(
        self, session_id: str | None = None, *, focus: str | None = None
    ) -> Compaction:
        """Summarise a session's older turns now (``/compact``, ``session compact``)."""
        from opencode.sessions.compaction import compact

        target = session_id or (self.session.id if self.session else None)
        if target is None:
            raise EngineNotOpen("no session to compact: start or resume one first")
        from opencode.sessions.providers.resilience.audit import call_session

        await self.flush()
        with call_session(target):  # the summary call's provider_call row names the session
            return await compact(self.runner(), target, model=self.model, focus=focus)

    async def maybe_compact(self, incoming: str, *, model: str | None = None) -> Compaction | None:
        from opencode.sessions.compaction import maybe_compact

        if self.session is None:
            return None
        await self.flush()
        ref = model or self.model
        started: list[bool] = []

        def on_start() -> None:
            started.append(True)
            if self.on_compacting is not None:
                self.on_compacting(True)

        done: Compaction | None = None
        try:
            done = await maybe_compact(self.runner(), self.session.id, incoming, ref, on_start)
        finally:
            if started and done is None and self.on_compacting is not None:
                self.on_compacting(False)
        if done is not None and self.on_compacted is not None:
            self.on_compacted(done)
        return done

    def max_cost_problem(self, max_cost: float, model: str | None = None) -> str | None:
        """None when a ``max_cost`` limit can be kept for ``model`` (default: the engine's),
        else why not: every model of its fallback chain needs a known price (a local endpoint
        counts as free), and a limit of 0 allows free models only. ``ConfigError`` for a bad
        model or resilience key."""
        from opencode.sessions.providers.resilience.settings import load_settings

        ref = model or self.model or (self.session.model if self.session else None)
        provider, model_name = self.config.resolve_model(ref or self.config.model)
        for entry in load_settings(self.config).chain(provider.name, model_name):
            price = entry.policy.prices.get(entry.model)
            free = (price is not None and price.input == 0 and price.output == 0) or (
                price is None and _local_endpoint(entry.provider)
            )
            where = f'[provider.{entry.provider.name}.price."{entry.model}"]'
            if price is None and not free:
                return (
                    f"--max-cost: {entry.ref} has no known price, so its cost cannot be "
                    f"counted; set {where} input = ..., output = ... (per million tokens) "
                    "in opencode.toml, or drop --max-cost"
                )
            if max_cost == 0 and not free:
                return (
                    f"--max-cost 0 allows free models only, and {entry.ref} has a price "
                    f"({where}); raise the limit or use a free (local) model"
                )
        return None

    def context_usage(self) -> tuple[int, int | None] | None:
        """(tokens the last model call used: its prompt plus its reply, the context window of
        the model that answered or None when unknown); None before any call reported usage.
        The window comes from ``context_window`` in config, the endpoint (``/props`` of
        llama.cpp, the models list) once fetched by ``refresh_context_window``, or a default
        by model family."""
        if self.last_usage is None:
            return None
        used = self.last_usage.input_tokens + self.last_usage.output_tokens
        ref = self.answered_by or self.model or (self.session.model if self.session else None)
        return used, self._windows.get(ref or "") or self._configured_window(ref)

    def _configured_window(self, ref: str | None) -> int | None:
        from opencode.sessions.providers.resilience.context import configured_window

        if not ref and not self.config.model:
            return None
        try:
            provider, model_name = self.config.resolve_model(ref or self.config.model)
        except Exception:  # a stale ref from an old session: no meter rather than an error
            return None
        return configured_window(provider, model_name)

    async def refresh_context_window(self, ref: str | None = None) -> int | None:
        """Ask the endpoint for the model's context window (llama.cpp ``/props``, the models
        list) when it may be asked (``probe_allowed``); once per model per engine. Never
        raises; None when unknown."""
        from opencode.sessions.providers.resilience.context import endpoint_window, probe_allowed

        ref = (
            ref or self.answered_by or self.model or (self.session.model if self.session else None)
        )
        try:
            provider, model_name = self.config.resolve_model(ref or self.config.model)
        except Exception:
            return None
        key = f"{provider.name}/{model_name}"
        if key not in self._windows and key not in self._probed and probe_allowed(provider):
            self._probed.add(key)
            found = await endpoint_window(provider, model_name)
            if found:
                self._windows[key] = found
                if ref:
                    self._windows[ref] = found
        return self._windows.get(key)

    def _notice(self, notice: Notice) -> None:
        self.notices.append(notice)
        if self.on_notice is not None:
            self.on_notice(notice)

    async def spawn_child(
        self,
        prompt: str,
        *,
        description: str = "subagent",
        agent: str | None = None,
        model: str | None = None,
        parent_session_id: str | None = None,
    ) -> ChildOutcome:
        """Run a subagent (a child session of the current session, or of
        ``parent_session_id``) to its end, as the ``task`` tool does, and return how it ended
        and its final text. Its events go out on this engine's bus, tagged with the child's
        session id. The parent session must already have a row (a message sent in it)."""
        from opencode.sessions.runner import RunnerError
        from opencode.sessions.subagents import Subagents

        parent = parent_session_id or (self.session.id if self.session is not None else None)
        if parent is None:
            raise RunnerError("spawn_child needs a parent session: start one and send to it first")
        runner = self.runner()
        subagents = runner.subagents or Subagents(runner)
        return await subagents.run(
            parent_session_id=parent,
            parent_call_id=None,
            description=description,
            prompt=prompt,
            agent=agent,
            model=model,
        )

    async def flush(self) -> None:
        if self._writer is not None:
            await self._writer.flush()

    async def messages(
        self, session_id: str, *, limit: int | None = None, before: str | None = None
    ) -> list[MessageRecord]:
        await self.flush()
        return await self.repo.messages(session_id, limit=limit, before=before)

    # ------------------------------------------------------------------ subscribers

    async def _persist(self, event: SessionEvent) -> None:
        if self._writer is None:
            raise EngineNotOpen(
                f"{type(event).__name__} emitted before Engine.open(): it could not be saved"
            )
        await self._writer(event)

    def _track(self, event: SessionEvent) -> None:
        """Keep ``session`` as the store now has it, from the events alone."""
        session = self.session
        if session is None or event.session_id != session.id:
            return
        if isinstance(event, SessionTitled | SessionStarted) and event.title:
            session.title = event.title
        elif isinstance(event, MessageFinished) and event.usage is not None:
            session.input_tokens += event.usage.input_tokens
            session.output_tokens += event.usage.output_tokens
        if isinstance(event, MessageFinished):
            session.cost += event.cost or 0.0
            if event.usage is not None and (event.usage.input_tokens or event.usage.output_tokens):
                self.last_usage = event.usage
            if event.model:
                self.answered_by = event.model
            elif event.usage is not None:
                self.answered_by = None


def _local_endpoint(provider: ProviderConfig) -> bool:
    """An embedded model or a server on this machine: nothing is billed for its tokens."""
    from urllib.parse import urlsplit

    if provider.api == "local":
        return True  # an Ollama or OpenAI-style URL may be a paid gateway: only loopback counts
    try:
        host = (urlsplit(provider.base_url).hostname or "").lower()
    except ValueError:
        return False
    return host in ("localhost", "::1") or host.startswith("127.")


async def _prune_audit(store: Store, config: Config) -> None:
    """The provider-call audit keeps ``[audit] keep_days`` (at most one prune a day, whichever
    process opens first). A failed prune never stops a session: the next day tries again."""
    from opencode.sessions.providers.resilience.audit import keep_days, prune_if_due
    from opencode.sessions.store.db import StoreError

    try:
        await prune_if_due(store, keep_days(config))
    except StoreError:
        pass
