"""SQL for the target registry: targets, backups and sync runs (verification runs: see
``opencode.commands.verify.repo``).

Rows become small dataclasses here; handlers never write SQL themselves. Every method takes
the open ``Store`` and uses its ``execute``/``fetch*``/``transaction``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opencode.sessions.process_owner import own_start, owner_alive

if TYPE_CHECKING:
    from opencode.sessions.store.db import Store

STATUSES = ("synchronized", "needs_sync", "failed", "unknown")
TYPES = ("site-packages", "source")
COMPONENTS = ("code", "docs", "plans", "rag", "config")


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(slots=True)
class Target:
    id: int
    name: str
    path: str
    type: str
    python: str | None
    test_command: str | None
    status: str
    status_reason: str | None
    last_sync: str | None
    sync_commit: str | None
    sync_version: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Target:
        return cls(
            id=row["id"],
            name=row["name"],
            path=row["path"],
            type=row["type"],
            python=row["python"],
            test_command=row["test_command"],
            status=row["status"],
            status_reason=row["status_reason"],
            last_sync=row["last_sync"],
            sync_commit=row["sync_commit"],
            sync_version=row["sync_version"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "type": self.type,
            "status": self.status,
            "status_reason": self.status_reason,
            "last_sync": self.last_sync,
            "sync_version": self.sync_version,
            "sync_commit": self.sync_commit,
            "python": self.python,
            "test_command": self.test_command,
        }


@dataclass(frozen=True, slots=True)
class ComponentState:
    """The commit and version one component of a target was last synced to."""

    component: str
    sync_commit: str
    sync_version: str
    dirty: bool
    synced_at: str


@dataclass(slots=True)
class BackupFile:
    component: str
    path: str
    existed: bool
    sha256: str | None = None
    size: int | None = None
    mode: int | None = None


@dataclass(slots=True)
class Backup:
    id: int
    target_id: int
    created_at: str
    reason: str
    dir: str
    # {"components": [...], "snapshot": {component: root}, "code": {"python", "dist"}}
    roots: dict[str, Any]
    file_count: int
    total_bytes: int
    complete: bool
    files: list[BackupFile] = field(default_factory=list)

    @property
    def components(self) -> list[str]:
        named = self.roots.get("components", [])
        return sorted(set(named) | {f.component for f in self.files})

    def to_dict(self) -> dict[str, Any]:
        components = self.components
        return {
            "id": self.id,
            "created_at": self.created_at,
            "reason": self.reason,
            "dir": self.dir,
            "file_count": self.file_count,
            "total_bytes": self.total_bytes,
            "complete": self.complete,
            "components": components,
        }


class TargetRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- targets -------------------------------------------------------------------------

    async def all(self) -> list[Target]:
        rows = await self.store.fetchall("SELECT * FROM target ORDER BY name")
        return [Target.from_row(r) for r in rows]

    async def get(self, name: str) -> Target | None:
        row = await self.store.fetchone("SELECT * FROM target WHERE name = ?", (name,))
        return Target.from_row(row) if row else None

    async def add(
        self, name: str, path: str, type: str, python: str | None, test_command: str | None
    ) -> Target:
        stamp = now_iso()
        await self.store.execute(
            "INSERT INTO target (name, path, type, python, test_command, status, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, 'unknown', ?, ?)",
            (name, path, type, python, test_command, stamp, stamp),
        )
        target = await self.get(name)
        assert target is not None
        return target

    async def remove(self, name: str) -> bool:
        return await self.store.execute("DELETE FROM target WHERE name = ?", (name,)) > 0

    async def set_status(self, target_id: int, status: str, reason: str | None = None) -> None:
        await self.store.execute(
            "UPDATE target SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?",
            (status, reason, now_iso(), target_id),
        )

    async def mark_synced(self, target_id: int, commit: str, version: str) -> None:
        stamp = now_iso()
        await self.store.execute(
            "UPDATE target SET status = 'synchronized', status_reason = NULL, last_sync = ?,"
            " sync_commit = ?, sync_version = ?, updated_at = ? WHERE id = ?",
            (stamp, commit, version, stamp, target_id),
        )

    async def set_version(self, target_id: int, version: str) -> None:
        await self.store.execute(
            "UPDATE target SET sync_version = ?, updated_at = ? WHERE id = ?",
            (version, now_iso(), target_id),
        )

    # -- backups -------------------------------------------------------------------------

    async def create_backup(self, target_id: int, reason: str, directory: str) -> int:
        return await self.store.execute(
            "INSERT INTO backup (target_id, created_at, reason, dir) VALUES (?, ?, ?, ?)",
            (target_id, now_iso(), reason, directory),
        )

    async def complete_backup(
        self, backup_id: int, files: list[BackupFile], roots: dict[str, Any]
    ) -> None:
        async with self.store.transaction():
            await self.store.executemany(
                "INSERT INTO backup_file (backup_id, component, path, existed, sha256, size, mode)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (backup_id, f.component, f.path, int(f.existed), f.sha256, f.size, f.mode)
                    for f in files
                ],
            )
            await self.store.execute(
                "UPDATE backup SET complete = 1, roots = ?, file_count = ?, total_bytes = ?"
                " WHERE id = ?",
                (
                    json.dumps(roots),
                    sum(1 for f in files if f.existed),
                    sum(f.size or 0 for f in files if f.existed),
                    backup_id,
                ),
            )

    async def backups(self, target_id: int) -> list[Backup]:
        rows = await self.store.fetchall(
            "SELECT * FROM backup WHERE target_id = ? ORDER BY id DESC", (target_id,)
        )
        result = []
        for row in rows:
            backup = self._backup(row)
            backup.files = await self._backup_files(backup.id)
            result.append(backup)
        return result

    async def backup(self, target_id: int, backup_id: int) -> Backup | None:
        row = await self.store.fetchone(
            "SELECT * FROM backup WHERE id = ? AND target_id = ?", (backup_id, target_id)
        )
        if row is None:
            return None
        backup = self._backup(row)
        backup.files = await self._backup_files(backup.id)
        return backup

    async def latest_backup(
        self, target_id: int, component: str | None = None, reason: str | None = None
    ) -> Backup | None:
        """The newest complete backup (covering ``component``, of ``reason``, when given)."""
        for backup in await self.backups(target_id):
            if (
                backup.complete
                and (component is None or component in backup.components)
                and (reason is None or backup.reason == reason)
            ):
                return backup
        return None

    async def last_good_sync_backup(
        self, target_id: int, component: str | None = None
    ) -> Backup | None:
        """The backup taken by the newest SUCCEEDED sync (covering ``component``): a failed sync
        was already restored, so its backup is the state the target is in now."""
        row = await self.store.fetchone(
            "SELECT b.id FROM sync_run r JOIN backup b ON b.id = r.backup_id"
            " WHERE r.target_id = ? AND r.status = 'succeeded' AND b.complete = 1"
            " AND (? IS NULL"
            "  OR EXISTS (SELECT 1 FROM json_each(b.roots, '$.components') WHERE value = ?)"
            "  OR EXISTS (SELECT 1 FROM backup_file f WHERE f.backup_id = b.id"
            "             AND f.component = ?))"
            " ORDER BY r.id DESC LIMIT 1",
            (target_id, component, component, component),
        )
        return None if row is None else await self.backup(target_id, row["id"])

    @staticmethod
    def _backup(row: sqlite3.Row) -> Backup:
        return Backup(
            id=row["id"],
            target_id=row["target_id"],
            created_at=row["created_at"],
            reason=row["reason"],
            dir=row["dir"],
            roots=json.loads(row["roots"] or "{}"),
            file_count=row["file_count"],
            total_bytes=row["total_bytes"],
            complete=bool(row["complete"]),
        )

    async def _backup_files(self, backup_id: int) -> list[BackupFile]:
        rows = await self.store.fetchall(
            "SELECT * FROM backup_file WHERE backup_id = ? ORDER BY path", (backup_id,)
        )
        return [
            BackupFile(
                component=r["component"],
                path=r["path"],
                existed=bool(r["existed"]),
                sha256=r["sha256"],
                size=r["size"],
                mode=r["mode"],
            )
            for r in rows
        ]

    # -- sync runs -----------------------------------------------------------------------

    async def start_sync_run(
        self, target_id: int, kind: str, source_commit: str, since_commit: str | None
    ) -> int:
        return await self.store.execute(
            "INSERT INTO sync_run (target_id, kind, started_at, source_commit, since_commit,"
            " status, step, pid, owner_start) VALUES (?, ?, ?, ?, ?, 'running', 'prepare', ?, ?)",
            (target_id, kind, now_iso(), source_commit, since_commit, os.getpid(), own_start()),
        )

    async def update_sync_run(self, run_id: int, **fields: Any) -> None:
        allowed = {"step", "changes", "backup_id", "verification_id", "status", "error", "log"}
        sets = []
        params: list[Any] = []
        for key, value in fields.items():
            if key not in allowed:
                raise ValueError(f"sync_run has no settable field {key!r}")
            sets.append(f"{key} = ?")
            params.append(json.dumps(value) if key == "changes" else value)
        if fields.get("status") in ("succeeded", "failed"):
            sets.append("finished_at = ?")
            params.append(now_iso())
        params.append(run_id)
        await self.store.execute(f"UPDATE sync_run SET {', '.join(sets)} WHERE id = ?", params)

    async def sync_runs(self, target_id: int, limit: int = 20) -> list[dict[str, Any]]:
        rows = await self.store.fetchall(
            "SELECT * FROM sync_run WHERE target_id = ? ORDER BY id DESC LIMIT ?",
            (target_id, limit),
        )
        return [
            {
                "id": r["id"],
                "kind": r["kind"],
                "started_at": r["started_at"],
                "finished_at": r["finished_at"],
                "source_commit": r["source_commit"],
                "since_commit": r["since_commit"],
                "status": r["status"],
                "step": r["step"],
                "changes": json.loads(r["changes"] or "{}"),
                "backup_id": r["backup_id"],
                "verification_id": r["verification_id"],
                "error": r["error"],
                "has_log": bool(r["log"]),
            }
            for r in rows
        ]

    async def interrupted_run(self, target_id: int) -> dict[str, Any] | None:
        """The newest sync run left 'running' by a process that no longer exists (a live
        process with its pid that started at another moment is not its owner)."""
        row = await self.store.fetchone(
            "SELECT id, step, backup_id, pid, owner_start, started_at FROM sync_run"
            " WHERE target_id = ? AND status = 'running' ORDER BY id DESC LIMIT 1",
            (target_id,),
        )
        if row is None or owner_alive(row["pid"], row["owner_start"]):
            return None
        return {
            "id": row["id"],
            "step": row["step"],
            "backup_id": row["backup_id"],
            "started_at": row["started_at"],
        }

    async def close_interrupted(self, target_id: int, note: str) -> None:
        await self.store.execute(
            "UPDATE sync_run SET status = 'failed', error = COALESCE(error, ?), finished_at = ?"
            " WHERE target_id = ? AND status = 'running'",
            (note, now_iso(), target_id),
        )

    # -- per-component sync state ----------------------------------------------------------

    async def components(self, target_id: int) -> dict[str, ComponentState]:
        rows = await self.store.fetchall(
            "SELECT * FROM target_component WHERE target_id = ?", (target_id,)
        )
        return {
            r["component"]: ComponentState(
                r["component"],
                r["sync_commit"],
                r["sync_version"],
                bool(r["dirty"]),
                r["synced_at"],
            )
            for r in rows
        }

    async def mark_components(
        self, target_id: int, components: set[str], commit: str, version: str, dirty: bool
    ) -> None:
        stamp = now_iso()
        for component in sorted(components):
            await self.store.execute(
                "INSERT INTO target_component (target_id, component, sync_commit, sync_version,"
                " dirty, synced_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (target_id, component)"
                " DO UPDATE SET sync_commit = excluded.sync_commit,"
                " sync_version = excluded.sync_version, dirty = excluded.dirty,"
                " synced_at = excluded.synced_at",
                (target_id, component, commit, version, int(dirty), stamp),
            )

    async def mark_partial(self, target_id: int, version: str, reason: str) -> None:
        """A sync that succeeded but left the target behind (other components stale, or
        installed from uncommitted changes): last_sync moves, sync_commit does not."""
        stamp = now_iso()
        await self.store.execute(
            "UPDATE target SET status = 'needs_sync', status_reason = ?, last_sync = ?,"
            " sync_version = ?, updated_at = ? WHERE id = ?",
            (reason, stamp, version, stamp, target_id),
        )

    async def sync_run(self, run_id: int) -> dict[str, Any] | None:
        row = await self.store.fetchone(
            "SELECT r.*, t.name AS target_name FROM sync_run r JOIN target t"
            " ON t.id = r.target_id WHERE r.id = ?",
            (run_id,),
        )
        if row is None:
            return None
        return {
            "id": row["id"],
            "target": row["target_name"],
            "kind": row["kind"],
            "started_at": row["started_at"],
            "finished_at": row["finished_at"],
            "source_commit": row["source_commit"],
            "status": row["status"],
            "step": row["step"],
            "changes": json.loads(row["changes"] or "{}"),
            "backup_id": row["backup_id"],
            "verification_id": row["verification_id"],
            "error": row["error"],
            "log": row["log"],
        }

    # -- the manifest of installed files -----------------------------------------------------

    async def installed_files(self, target_id: int) -> dict[str, dict[str, str]]:
        """component -> {absolute path: sha256 written by the last sync of that component}."""
        rows = await self.store.fetchall(
            "SELECT component, path, sha256 FROM target_file WHERE target_id = ?", (target_id,)
        )
        found: dict[str, dict[str, str]] = {}
        for r in rows:
            found.setdefault(r["component"], {})[r["path"]] = r["sha256"]
        return found

    async def set_installed_files(
        self, target_id: int, component: str, files: dict[str, str]
    ) -> None:
        await self.store.execute(
            "DELETE FROM target_file WHERE target_id = ? AND component = ?",
            (target_id, component),
        )
        for path, sha in sorted(files.items()):
            await self.store.execute(
                "INSERT OR REPLACE INTO target_file (target_id, component, path, sha256)"
                " VALUES (?, ?, ?, ?)",
                (target_id, component, path, sha),
            )

    async def delete_backup(self, backup_id: int) -> None:
        await self.store.execute("DELETE FROM backup WHERE id = ?", (backup_id,))
