"""SQL access for the backlog (tables ``backlog_item``, ``backlog_criterion``,
``backlog_sync_run`` from migration 0003). Rows in, ``BacklogItem`` out."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from opencode.commands.backlog.model import (
    OPEN_STATUSES,
    BacklogItem,
    Criterion,
    normalize_title,
    priority_level,
)

if TYPE_CHECKING:
    from opencode.sessions.store.db import Store

# An import commits at least this often (seconds of one write transaction), and after at most
# this many items, then pauses IMPORT_GAP_S: no other writer waits for a long import to finish
# (a 20 MB file held the lock for 24 s in one transaction). The gap costs ~14% of a long
# import's wall time (bench/backlog_import_lock.py).
IMPORT_BATCH_S = 0.75
IMPORT_BATCH_ITEMS = 5000
IMPORT_GAP_S = 0.12
# stored rows re-read per query (well under SQLite's bound-parameter limit)
_FETCH_CHUNK = 500

_COLUMNS = (
    "key, number, title, one_liner, priority, effort, risk, status, source, files, blockers, "
    "dependencies, evidence, notes, grp, details_summary, completed_on, planned_at, "
    "created_at, updated_at"
)


def _values(item: BacklogItem) -> tuple[Any, ...]:
    return (
        item.key,
        item.number,
        item.title,
        item.one_liner,
        item.priority,
        item.effort,
        item.risk,
        item.status,
        item.source,
        json.dumps(item.files),
        json.dumps(item.blockers),
        json.dumps(item.dependencies),
        json.dumps(item.evidence),
        item.notes,
        item.group,
        item.details_summary,
        item.completed_on,
        item.planned_at,
        item.created_at,
        item.updated_at,
    )


def _item(row: sqlite3.Row, criteria: list[Criterion]) -> BacklogItem:
    return BacklogItem(
        id=int(row["id"]),
        key=row["key"],
        number=row["number"],
        title=row["title"],
        one_liner=row["one_liner"],
        priority=row["priority"],
        effort=row["effort"],
        risk=row["risk"],
        status=row["status"],
        source=row["source"],
        files=json.loads(row["files"]),
        blockers=json.loads(row["blockers"]),
        dependencies=json.loads(row["dependencies"]),
        evidence=json.loads(row["evidence"]),
        notes=row["notes"],
        group=row["grp"],
        details_summary=row["details_summary"],
        completed_on=row["completed_on"],
        planned_at=row["planned_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        criteria=criteria,
    )


class BacklogRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def _criteria(self, ids: Iterable[int] | None = None) -> dict[int, list[Criterion]]:
        if ids is None:
            rows = await self.store.fetchall(
                "SELECT item_id, text, done FROM backlog_criterion ORDER BY item_id, seq"
            )
        else:
            wanted = list(ids)
            if not wanted:
                return {}
            marks = ",".join("?" * len(wanted))
            rows = await self.store.fetchall(
                f"SELECT item_id, text, done FROM backlog_criterion WHERE item_id IN ({marks}) "
                "ORDER BY item_id, seq",
                wanted,
            )
        out: dict[int, list[Criterion]] = {}
        for row in rows:
            out.setdefault(int(row["item_id"]), []).append(
                Criterion(row["text"], bool(row["done"]))
            )
        return out

    async def list_items(
        self, status: str | None = None, priority: str | None = None
    ) -> list[BacklogItem]:
        """All items in file order (ids), optionally one status ("open" = not closed/deferred)
        and one priority level."""
        sql = "SELECT * FROM backlog_item"
        params: list[Any] = []
        if status == "open":
            marks = ",".join("?" * len(OPEN_STATUSES))
            sql += f" WHERE status IN ({marks})"
            params += sorted(OPEN_STATUSES)
        elif status:
            sql += " WHERE status = ?"
            params.append(status)
        rows = await self.store.fetchall(sql + " ORDER BY id", params)
        criteria = await self._criteria()
        items = [_item(row, criteria.get(int(row["id"]), [])) for row in rows]
        if priority:
            items = [i for i in items if priority_level(i.priority) == priority.lower()]
        return items

    async def get(self, ref: str | int) -> BacklogItem | None:
        """By numeric id (``12`` or ``#12``) or external key (``Task-013``, any case). An item
        keyed by its issue (``#12``) wins over id 12 for ``#12``: the key is what people type."""
        text = str(ref).strip()
        by_id = re.fullmatch(r"#?\d+", text) is not None
        row = None
        if not by_id or text.startswith("#"):
            row = await self.store.fetchone("SELECT * FROM backlog_item WHERE key = ?", (text,))
        if row is None and by_id:
            row = await self.store.fetchone(
                "SELECT * FROM backlog_item WHERE id = ?", (int(text.lstrip("#")),)
            )
        if row is None:
            return None
        criteria = await self._criteria([int(row["id"])])
        return _item(row, criteria.get(int(row["id"]), []))

    async def _write_criteria(self, item: BacklogItem, now: float) -> None:
        """Replace the item's criteria. A criterion already ticked (same text, still done)
        keeps its done_at: only a change of state is stamped ``now``."""
        assert item.id is not None
        rows = await self.store.fetchall(
            "SELECT text, done_at FROM backlog_criterion WHERE item_id = ? AND done = 1 "
            "ORDER BY seq",
            (item.id,),
        )
        ticked: dict[str, list[float]] = {}
        for row in rows:
            if row["done_at"] is not None:
                ticked.setdefault(row["text"], []).append(float(row["done_at"]))
        values = []
        for n, c in enumerate(item.criteria):
            stamps = ticked.get(c.text)
            done_at = (stamps.pop(0) if stamps else now) if c.done else None
            values.append((item.id, n, c.text, int(c.done), done_at))
        await self.store.execute("DELETE FROM backlog_criterion WHERE item_id = ?", (item.id,))
        await self.store.executemany(
            "INSERT INTO backlog_criterion (item_id, seq, text, done, done_at) VALUES (?,?,?,?,?)",
            values,
        )

    async def insert(self, item: BacklogItem, now: float | None = None) -> BacklogItem:
        now = time.time() if now is None else now
        item.created_at = item.updated_at = now
        item.planned_at = item.planned_at or now
        async with self.store.transaction():
            item.id = await self.store.execute(
                f"INSERT INTO backlog_item ({_COLUMNS}) VALUES ({','.join('?' * 20)})",
                _values(item),
            )
            await self._write_criteria(item, now)
        return item

    async def save(self, item: BacklogItem, now: float | None = None) -> BacklogItem:
        assert item.id is not None
        now = time.time() if now is None else now
        item.updated_at = now
        sets = ", ".join(f"{c.strip()} = ?" for c in _COLUMNS.split(","))
        async with self.store.transaction():
            await self.store.execute(
                f"UPDATE backlog_item SET {sets} WHERE id = ?", (*_values(item), item.id)
            )
            await self._write_criteria(item, now)
        return item

    @staticmethod
    def match_stored(
        items: list[BacklogItem], stored: list[BacklogItem]
    ) -> list[BacklogItem | None]:
        """For each imported item, the stored row it stands for: same key, else same title when
        either side has no key. Only rows stored before the import count, and each row is
        claimed once (keys first), so two items of one file never collapse into one row."""
        matches: list[BacklogItem | None] = [None] * len(items)
        claimed: set[int | None] = set()
        by_key = {s.key.lower(): s for s in stored if s.key}
        for n, item in enumerate(items):
            row = by_key.get(item.key.lower()) if item.key else None
            if row is not None and row.id not in claimed:
                matches[n] = row
                claimed.add(row.id)
        for n, item in enumerate(items):
            if matches[n] is not None or (item.key and item.key.lower() in by_key):
                continue
            norm = normalize_title(item.title)
            for row in stored:
                if (
                    row.id not in claimed
                    and (not row.key or not item.key)
                    and normalize_title(row.title) == norm
                ):
                    matches[n] = row
                    claimed.add(row.id)
                    break
        return matches

    async def _items_by_id(self, ids: list[int]) -> dict[int, BacklogItem]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self.store.fetchall(f"SELECT * FROM backlog_item WHERE id IN ({marks})", ids)
        criteria = await self._criteria(ids)
        return {int(r["id"]): _item(r, criteria.get(int(r["id"]), [])) for r in rows}

    async def import_items(
        self, items: list[BacklogItem], planned_at: float | None, now: float | None = None
    ) -> tuple[list[BacklogItem], list[BacklogItem], list[tuple[BacklogItem, str]]]:
        """Insert new items and update the ones already stored (the file wins field by field;
        evidence already recorded is kept). Returns (created, updated, status changes as
        (item, previous status)).

        A large file is written in batches, each its own short transaction (see
        ``IMPORT_BATCH_S``), so another writer (``opencode run`` in a second process, the TUI
        streaming a turn) is never locked out for the whole import. An import that fails
        part-way keeps the batches already committed; importing the file again completes it
        (a re-import updates, never duplicates)."""
        now = time.time() if now is None else now
        matches = self.match_stored(items, await self.list_items())
        created: list[BacklogItem] = []
        updated: list[BacklogItem] = []
        moved: list[tuple[BacklogItem, str]] = []
        pairs = list(zip(items, matches, strict=True))
        current: dict[int, BacklogItem] = {}
        start = 0
        while start < len(pairs):
            if start:
                # a gap longer than SQLite's busy-handler poll (<= 100 ms), so a writer
                # waiting in another connection gets the lock before the next batch
                await asyncio.sleep(IMPORT_GAP_S)
            async with self.store.transaction():
                opened = time.monotonic()
                end = start
                while end < len(pairs) and end - start < IMPORT_BATCH_ITEMS:
                    if (end - start) % _FETCH_CHUNK == 0:
                        # the rows as they are now: another writer may have added evidence
                        # between batches
                        chunk = pairs[end : end + _FETCH_CHUNK]
                        current = await self._items_by_id(
                            [s.id for _, s in chunk if s is not None and s.id is not None]
                        )
                    item, same = pairs[end]
                    end += 1
                    if same is not None and same.id is not None:
                        same = current.get(same.id)
                    if same is None:
                        item.planned_at = planned_at or now
                        await self.insert(item, now)
                        created.append(item)
                    else:
                        item.id = same.id
                        item.created_at = same.created_at
                        item.planned_at = same.planned_at
                        item.key = item.key or same.key
                        item.evidence = same.evidence + [
                            e for e in item.evidence if e not in same.evidence
                        ]
                        await self.save(item, now)
                        updated.append(item)
                        if same.status != item.status:
                            moved.append((item, same.status))
                    if time.monotonic() - opened >= IMPORT_BATCH_S:
                        break
            start = end
        return created, updated, moved

    async def next_key(self, prefix: str = "Task") -> str:
        rows = await self.store.fetchall(
            "SELECT key FROM backlog_item WHERE key LIKE ?", (f"{prefix}-%",)
        )
        numbers = [int(m.group(1)) for r in rows if (m := re.search(r"-(\d+)$", r["key"] or ""))]
        return f"{prefix}-{(max(numbers) + 1 if numbers else 1):03d}"

    async def record_sync_run(
        self, repo: str, head: str, since: str | None, applied: bool, state: dict[str, Any]
    ) -> int:
        return await self.store.execute(
            "INSERT INTO backlog_sync_run (repo, head, since_rev, applied, state, created_at) "
            "VALUES (?,?,?,?,?,?)",
            (repo, head, since, int(applied), json.dumps(state), time.time()),
        )

    async def latest_sync_state(self) -> dict[str, Any] | None:
        """The state of the most recent reality sync, or None before the first one."""
        row = await self.store.fetchone(
            "SELECT state FROM backlog_sync_run ORDER BY id DESC LIMIT 1"
        )
        if row is None:
            return None
        state: dict[str, Any] = json.loads(row["state"])
        return state
