"""Where a stream gets its corrections: the enabled rules for its model, kept current, and the
audit written afterwards. Shared by the runner (chat sessions, ``opencode run``) and the proxy.

Rules are compiled once per model and reloaded when the rule table changes (one small query
per stream). A database that cannot be read or written never stops a stream: the rules are
skipped, the problem is reported once through ``warn`` and kept in ``error`` for status views.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection

from opencode.sessions.corrections.rules import CompiledRule
from opencode.sessions.corrections.stream import StreamCorrector
from opencode.sessions.store.db import Store


def _stderr(text: str) -> None:
    print(f"opencode: {text}", file=sys.stderr)


class RuleSource:
    def __init__(
        self,
        store: Store | None,
        *,
        repair_tool_calls: bool = True,
        warn: Callable[[str], None] = _stderr,
    ) -> None:
        self.store = store
        self.repair_tool_calls = repair_tool_calls
        self.warn = warn
        self.error: str | None = None
        self.applied = 0
        self._compiled: dict[str, list[CompiledRule]] = {}
        self._version: tuple[int, float] | None = None
        self._warned: set[str] = set()

    def _problem(self, text: str) -> None:
        self.error = text
        if text not in self._warned:
            self._warned.add(text)
            self.warn(text)

    async def rules(self, model_ref: str) -> list[CompiledRule]:
        if self.store is None:
            return []
        from opencode.sessions.corrections.repo import CorrectionRepo

        repo = CorrectionRepo(self.store)
        try:
            version = await repo.version()
            if version != self._version:
                self._compiled.clear()
                self._version = version
            if model_ref not in self._compiled:
                compiled, warnings = await repo.compiled_for(model_ref)
                for warning in warnings:
                    self._problem(warning)
                self._compiled[model_ref] = compiled
        except Exception as exc:  # a locked or damaged database must not stop a stream
            self._problem(f"correction rules unavailable ({exc}); going on without them")
            return []
        self.error = None
        return self._compiled[model_ref]

    async def corrector(self, model_ref: str, offered_tools: Collection[str]) -> StreamCorrector:
        return StreamCorrector(
            await self.rules(model_ref),
            offered_tools=offered_tools,
            repair_tool_calls=self.repair_tool_calls,
        )

    async def record(
        self,
        corrector: StreamCorrector,
        *,
        model_ref: str,
        session_id: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """Write the stream's hits and repaired calls to ``correction_log``."""
        if self.store is None or not (corrector.hits or corrector.repairs):
            return
        from opencode.sessions.corrections.repo import CorrectionRepo

        self.applied += len(corrector.hits) + len(corrector.repairs)
        try:
            await CorrectionRepo(self.store).record(
                corrector.hits,
                corrector.repairs,
                model=model_ref,
                session_id=session_id,
                request_id=request_id,
            )
        except Exception as exc:
            self._problem(f"cannot write the correction log ({exc})")
