"""SQL for verification runs and their check results (tables ``verification_run`` and
``verification_result``); ``CheckResult`` is one check as the verifier produces it.

Rows become plain dicts in the shape ``verify show`` prints; handlers never write SQL.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opencode.commands.target.repo import now_iso

if TYPE_CHECKING:
    from opencode.sessions.store.db import Store


@dataclass(slots=True)
class CheckResult:
    name: str
    category: str
    status: str  # passed | failed | skipped
    duration_ms: int
    output: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "category": self.category,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "output": self.output,
        }


class VerificationRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def save_verification(
        self,
        target_id: int,
        categories: list[str],
        started_at: str,
        results: list[CheckResult],
        sync_run_id: int | None = None,
    ) -> int:
        passed = sum(1 for r in results if r.status == "passed")
        failed = sum(1 for r in results if r.status == "failed")
        skipped = sum(1 for r in results if r.status == "skipped")
        async with self.store.transaction():
            run_id = await self.store.execute(
                "INSERT INTO verification_run (target_id, sync_run_id, categories, status,"
                " started_at, finished_at, passed, failed, skipped)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    target_id,
                    sync_run_id,
                    ",".join(categories),
                    "failed" if failed else "passed",
                    started_at,
                    now_iso(),
                    passed,
                    failed,
                    skipped,
                ),
            )
            await self.store.executemany(
                "INSERT INTO verification_result (run_id, seq, name, category, status,"
                " duration_ms, output) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (run_id, i, r.name, r.category, r.status, r.duration_ms, r.output)
                    for i, r in enumerate(results)
                ],
            )
        return run_id

    async def verifications(
        self, target_name: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        sql = (
            "SELECT v.*, t.name AS target FROM verification_run v"
            " JOIN target t ON t.id = v.target_id"
        )
        params: list[Any] = []
        if target_name is not None:
            sql += " WHERE t.name = ?"
            params.append(target_name)
        sql += " ORDER BY v.id DESC LIMIT ?"
        params.append(limit)
        rows = await self.store.fetchall(sql, params)
        return [await self._verification(r) for r in rows]

    async def verification(self, run_id: int) -> dict[str, Any] | None:
        row = await self.store.fetchone(
            "SELECT v.*, t.name AS target FROM verification_run v"
            " JOIN target t ON t.id = v.target_id WHERE v.id = ?",
            (run_id,),
        )
        return await self._verification(row) if row else None

    async def last_verification(self, target_id: int) -> dict[str, Any] | None:
        row = await self.store.fetchone(
            "SELECT id, status, started_at, passed, failed FROM verification_run"
            " WHERE target_id = ? ORDER BY id DESC LIMIT 1",
            (target_id,),
        )
        if row is None:
            return None
        return {
            "id": row["id"],
            "status": row["status"],
            "started_at": row["started_at"],
            "passed": row["passed"],
            "failed": row["failed"],
        }

    async def _verification(self, row: sqlite3.Row) -> dict[str, Any]:
        checks = await self.store.fetchall(
            "SELECT * FROM verification_result WHERE run_id = ? ORDER BY seq", (row["id"],)
        )
        return {
            "id": row["id"],
            "target": row["target"],
            "sync_run_id": row["sync_run_id"],
            "categories": row["categories"].split(",") if row["categories"] else [],
            "status": row["status"],
            "started_at": row["started_at"],
            "finished_at": row["finished_at"],
            "passed": row["passed"],
            "failed": row["failed"],
            "skipped": row["skipped"],
            "checks": [
                CheckResult(
                    name=c["name"],
                    category=c["category"],
                    status=c["status"],
                    duration_ms=c["duration_ms"],
                    output=c["output"],
                ).to_dict()
                for c in checks
            ],
        }
