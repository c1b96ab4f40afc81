"""Correction rules and their audit log in SQLite (``correction_rule``, ``correction_log``).

Every rule is checked with ``compile_rule`` before it is stored, so a bad regex is an error at
``patch add``, never at stream time. A stream's hits are written in one transaction after the
stream (one log row per hit, and each rule's hit counter). ``version`` is a cheap fingerprint
of the rule set that a long-running proxy polls to reload rules without a restart.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from opencode.sessions.corrections.rules import CompiledRule, Rule, RuleError, compile_rule
from opencode.sessions.corrections.stream import Repair
from opencode.sessions.corrections.window import Hit
from opencode.sessions.store.db import Store

EXCERPT_CHARS = 200
TOOL_REPAIR_RULE = "builtin:tool-repair"
_COLUMNS = (
    "id, pattern, replacement, regex, scope, model, priority, enabled, mode, hits, "
    "description, created_at, updated_at"
)


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rule(row: Any) -> Rule:
    return Rule(
        id=row["id"],
        pattern=row["pattern"],
        replacement=row["replacement"],
        regex=bool(row["regex"]),
        scope=row["scope"],
        model=row["model"],
        priority=row["priority"],
        enabled=bool(row["enabled"]),
        mode=row["mode"],
        hits=row["hits"],
        description=row["description"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class CorrectionRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(self, rule: Rule) -> Rule:
        compile_rule(rule)  # raises RuleError before anything is stored
        now = time.time()
        async with self.store.transaction():
            await self.store.execute(
                "INSERT INTO correction_rule (pattern, replacement, regex, scope, model, "
                "priority, enabled, mode, hits, description, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
                (
                    rule.pattern,
                    rule.replacement,
                    int(rule.regex),
                    rule.scope,
                    rule.model,
                    rule.priority,
                    int(rule.enabled),
                    rule.mode,
                    rule.description,
                    now,
                    now,
                ),
            )
            row = await self.store.fetchone("SELECT last_insert_rowid() AS id")
        assert row is not None
        return replace(rule, id=int(row["id"]), hits=0, created_at=now, updated_at=now)

    async def rules(self) -> list[Rule]:
        rows = await self.store.fetchall(
            f"SELECT {_COLUMNS} FROM correction_rule ORDER BY priority DESC, id"
        )
        return [_rule(row) for row in rows]

    async def get(self, rule_id: int) -> Rule | None:
        row = await self.store.fetchone(
            f"SELECT {_COLUMNS} FROM correction_rule WHERE id = ?", (rule_id,)
        )
        return _rule(row) if row is not None else None

    async def update(self, rule_id: int, **fields: Any) -> Rule | None:
        """Change ``enabled``, ``mode`` or ``priority``; None if there is no such rule."""
        current = await self.get(rule_id)
        if current is None:
            return None
        changed = replace(current, **fields)
        compile_rule(changed)
        await self.store.execute(
            "UPDATE correction_rule SET enabled = ?, mode = ?, priority = ?, updated_at = ? "
            "WHERE id = ?",
            (int(changed.enabled), changed.mode, changed.priority, time.time(), rule_id),
        )
        return await self.get(rule_id)

    async def remove(self, rule_id: int) -> bool:
        return await self.store.execute("DELETE FROM correction_rule WHERE id = ?", (rule_id,)) > 0

    async def compiled_for(self, model_ref: str) -> tuple[list[CompiledRule], list[str]]:
        """The enabled rules for ``model_ref``, compiled; and a warning for each stored rule
        that no longer compiles (it is skipped, never applied half-way)."""
        compiled: list[CompiledRule] = []
        warnings: list[str] = []
        for rule in await self.rules():
            if not rule.applies_to(model_ref):
                continue
            try:
                compiled.append(compile_rule(rule))
            except RuleError as exc:
                warnings.append(f"correction rule {rule.id} skipped: {exc}")
        return compiled, warnings

    async def version(self) -> tuple[int, float]:
        row = await self.store.fetchone(
            "SELECT count(*) AS n, coalesce(max(updated_at), 0) AS t FROM correction_rule"
        )
        assert row is not None
        return int(row["n"]), float(row["t"])

    async def record(
        self,
        hits: Sequence[Hit],
        repairs: Sequence[Repair] = (),
        *,
        model: str = "",
        session_id: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """One log row per hit and per repaired tool call; rule hit counters bumped."""
        if not hits and not repairs:
            return
        now = time.time()
        rows = [
            (
                str(h.rule.rule.id),
                session_id,
                request_id,
                model,
                h.rule.rule.scope,
                h.rule.rule.mode,
                _excerpt(h.before),
                _excerpt(h.after if h.applied else h.before),
                _sha(h.before),
                _sha(h.after if h.applied else h.before),
                now,
            )
            for h in hits
        ]
        rows += [
            (
                TOOL_REPAIR_RULE,
                session_id,
                request_id,
                model,
                "text",
                "apply",
                _excerpt(r.call.source),
                _excerpt(f"{r.call.name}({r.call.arguments})"),
                _sha(r.call.source),
                _sha(r.call.arguments),
                now,
            )
            for r in repairs
        ]
        counts: dict[int, int] = {}
        for h in hits:
            counts[h.rule.rule.id] = counts.get(h.rule.rule.id, 0) + 1
        async with self.store.transaction():
            await self.store.executemany(
                "INSERT INTO correction_log (rule_id, session_id, request_id, model, scope, mode, "
                "before_excerpt, after_excerpt, before_sha256, after_sha256, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            await self.store.executemany(
                "UPDATE correction_rule SET hits = hits + ? WHERE id = ?",
                [(n, rule_id) for rule_id, n in counts.items()],
            )

    async def log(self, *, limit: int = 50, since: float | None = None) -> list[dict[str, Any]]:
        rows = await self.store.fetchall(
            "SELECT id, rule_id, session_id, request_id, model, scope, mode, before_excerpt, "
            "after_excerpt, before_sha256, after_sha256, created_at FROM correction_log "
            "WHERE created_at >= ? ORDER BY id DESC LIMIT ?",
            (since or 0.0, limit),
        )
        return [dict(row) for row in rows]
