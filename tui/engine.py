"""The TUI's facade over the engine: one store, one event bus, one runner, the current session.

No Textual here: the app owns a ``ChatEngine`` and subscribes its transcript to ``bus``; the
store writer is subscribed first, so every event is persisted before the screen sees it.
Session and message reads for the transcript (resume, load-earlier-on-scroll) go through
``SessionRepo``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opencode.sessions.events import EventBus, TurnFinished

if TYPE_CHECKING:
    from opencode.sessions.config import Config
    from opencode.sessions.runner import (
        PermissionAnswer,
        PermissionRequest,
        ProviderFactory,
        Runner,
    )
    from opencode.sessions.store.db import Store
    from opencode.sessions.store.sessions import MessageRecord, SessionRecord, SessionRepo
    from opencode.sessions.store.writer import StoreWriter

Asker = Callable[["PermissionRequest"], Awaitable["PermissionAnswer"]]


class ChatEngine:
    def __init__(
        self,
        config: Config,
        cwd: Path,
        *,
        provider_factory: ProviderFactory | None = None,
        tools: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.cwd = cwd
        self.bus = EventBus()
        self.provider_factory = provider_factory
        self.tools = tools
        self.session: SessionRecord | None = None
        self.model: str | None = None
        self._store: Store | None = None
        self._repo: SessionRepo | None = None
        self._writer: StoreWriter | None = None
        self._runner: Runner | None = None
        self._asker: Asker | None = None

    @property
    def is_open(self) -> bool:
        return self._store is not None

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("ChatEngine.open() was not awaited")
        return self._store

    @property
    def repo(self) -> SessionRepo:
        if self._repo is None:
            raise RuntimeError("ChatEngine.open() was not awaited")
        return self._repo

    async def open(self, asker: Asker) -> None:
        from opencode.sessions.store.db import Store
        from opencode.sessions.store.sessions import SessionRepo
        from opencode.sessions.store.writer import StoreWriter

        self._asker = asker
        self._store = await Store.open(self.config.db_path)
        self._repo = SessionRepo(self._store)
        self._writer = StoreWriter(self._store)
        self.bus.subscribe(self._writer)

    def runner(self) -> Runner:
        if self._runner is None:
            from opencode.sessions.runner import Runner
            from opencode.sessions.tools.permissions import Permissions

            assert self._asker is not None
            self._runner = Runner(
                store=self.store,
                config=self.config,
                cwd=self.cwd,
                bus=self.bus,
                permissions=Permissions(self.config.permission, self.cwd),
                asker=self._asker,
                provider_factory=self.provider_factory,
                tools=self.tools,
            )
        return self._runner

    async def start(
        self,
        *,
        session_id: str | None = None,
        continue_latest: bool = False,
        model: str | None = None,
    ) -> SessionRecord:
        """Resume a session (by id or the latest here) or create a new one, and make it current.

        A new runner is made per session so session-scoped permission grants do not leak.
        """
        if self._runner is not None:
            await self._runner.aclose()
            self._runner = None
        if model:
            self.model = model
        self.session = await self.runner().start_session(
            session_id=session_id, continue_latest=continue_latest, model=self.model
        )
        return self.session

    async def send(self, text: str) -> TurnFinished:
        if self.session is None:
            await self.start()
        assert self.session is not None
        result = await self.runner().send(self.session.id, text, model=self.model)
        refreshed = await self.repo.get(self.session.id)
        if refreshed is not None:
            self.session = refreshed
        return result

    async def flush(self) -> None:
        if self._writer is not None:
            await self._writer.flush()

    async def messages(
        self, session_id: str, *, limit: int | None = None, before: str | None = None
    ) -> list[MessageRecord]:
        await self.flush()
        return await self.repo.messages(session_id, limit=limit, before=before)

    async def close(self) -> None:
        await self.flush()
        if self._runner is not None:
            await self._runner.aclose()
            self._runner = None
        if self._store is not None:
            await self._store.close()
            self._store = None
