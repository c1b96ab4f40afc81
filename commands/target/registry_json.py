"""The target registry as JSON (``{"targets": [...]}``, the seed plan's "Registry Format"):
``target import FILE`` reads it into the store, ``target export`` writes the store out.

An entry is ``name``, ``path``, ``type`` (site-packages | source) and optionally ``status``,
``last_sync`` (ISO 8601 UTC, ``2026-02-24T00:00:00Z``), ``sync_version``, ``python``,
``test_command``. The whole file is checked before anything is written: one bad entry and
nothing is imported, with every problem listed by entry and field. A target already stored
under the same name is updated in place (a re-import never duplicates). Relative paths are
relative to the working directory, as for ``target add``; export writes paths under the
working directory relative again, so import -> export gives the same file back.

The SQL lives here rather than in ``repo`` so the registry format stays one module; it uses
only the ``target`` table's columns from migration 0002.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opencode.sessions.store.db import Store

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
TYPES = ("site-packages", "source")
STATUSES = ("synchronized", "needs_sync", "failed", "unknown")
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$")
KEYS = ("name", "path", "type", "last_sync", "sync_version", "status", "python", "test_command")
MAX_BYTES = 5_000_000  # a registry is a few targets; anything this big is the wrong file


class RegistryError(ValueError):
    """The file is not a usable registry; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(slots=True)
class Entry:
    name: str
    path: str
    type: str
    status: str = "unknown"
    last_sync: str | None = None
    sync_version: str | None = None
    python: str | None = None
    test_command: str | None = None


@dataclass(slots=True)
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


def _text_or_none(value: Any, where: str, problems: list[str]) -> str | None:
    if value is None or isinstance(value, str):
        return value
    problems.append(f"{where}: expected text or null, got {type(value).__name__}")
    return None


def parse_registry(text: str, cwd: Path) -> tuple[list[Entry], list[str]]:
    """Entries (paths made absolute against ``cwd``) and warnings; ``RegistryError`` lists
    every problem when any entry is unusable."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise RegistryError([f"the file is over {MAX_BYTES} bytes; not a target registry"])
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RegistryError(
            [f"not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"]
        ) from None
    except RecursionError:
        raise RegistryError(["JSON nested too deeply; not a target registry"]) from None
    if not isinstance(data, dict) or not isinstance(data.get("targets"), list):
        raise RegistryError(['expected an object with a "targets" list: {"targets": [...]}'])
    problems: list[str] = []
    warnings: list[str] = []
    entries: list[Entry] = []
    seen: set[str] = set()
    for index, raw in enumerate(data["targets"]):
        where = f"targets[{index}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: expected an object, got {type(raw).__name__}")
            continue
        name = raw.get("name")
        if isinstance(name, str):
            where = f"{where} ({name!r})"
        before = len(problems)
        if not isinstance(name, str) or not NAME.match(name):
            problems.append(f"{where}: name must be letters, digits, '.', '_' or '-'")
        elif name in seen:
            problems.append(f"{where}: name {name!r} appears twice")
        path = raw.get("path")
        if not isinstance(path, str) or not path.strip() or "\x00" in path:
            problems.append(f"{where}: path must be a non-empty folder path")
        kind = raw.get("type")
        if kind not in TYPES:
            problems.append(f"{where}: type must be one of {', '.join(TYPES)}, not {kind!r}")
        status = raw.get("status", "unknown")
        if status not in STATUSES:
            problems.append(f"{where}: status must be one of {', '.join(STATUSES)}, not {status!r}")
        last_sync = _text_or_none(raw.get("last_sync"), f"{where}.last_sync", problems)
        if last_sync is not None and not ISO_UTC.match(last_sync):
            problems.append(
                f"{where}: last_sync {last_sync!r} is not ISO 8601 UTC (2026-02-24T00:00:00Z)"
            )
        version = _text_or_none(raw.get("sync_version"), f"{where}.sync_version", problems)
        python = _text_or_none(raw.get("python"), f"{where}.python", problems)
        test_command = _text_or_none(raw.get("test_command"), f"{where}.test_command", problems)
        unknown = sorted(set(raw) - set(KEYS))
        if unknown:
            warnings.append(f"{where}: ignored unknown field(s) {', '.join(unknown)}")
        if len(problems) > before:
            continue
        assert isinstance(name, str) and isinstance(path, str) and isinstance(kind, str)
        seen.add(name)
        folder = Path(os.path.expanduser(path))
        folder = folder if folder.is_absolute() else (cwd / folder)
        folder = Path(os.path.normpath(folder))
        if not folder.is_dir():
            warnings.append(f"{where}: path {folder} is not a folder here (imported anyway)")
        if python is not None:
            interpreter = Path(os.path.expanduser(python))
            python = str(interpreter if interpreter.is_absolute() else cwd / interpreter)
        elif kind == "site-packages":
            warnings.append(
                f"{where}: no python given; a site-packages sync needs it "
                '(`opencode target add` finds it, or add "python" to the entry)'
            )
        entries.append(
            Entry(name, str(folder), kind, status, last_sync, version, python, test_command)
        )
    if problems:
        raise RegistryError(problems)
    return entries, warnings


async def import_registry(store: Store, entries: list[Entry]) -> ImportReport:
    """Write the entries in one transaction: new names are added, known ones updated."""
    report = ImportReport()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    async with store.transaction():
        for entry in entries:
            row = await store.fetchone("SELECT id FROM target WHERE name = ?", (entry.name,))
            values = (
                entry.path,
                entry.type,
                entry.status,
                entry.last_sync,
                entry.sync_version,
                entry.python,
                entry.test_command,
            )
            if row is None:
                await store.execute(
                    "INSERT INTO target (path, type, status, last_sync, sync_version, python,"
                    " test_command, status_reason, name, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'imported', ?, ?, ?)",
                    (*values, entry.name, stamp, stamp),
                )
                report.created.append(entry.name)
            else:
                # python/test_command stay as stored when the file does not give them
                await store.execute(
                    "UPDATE target SET path = ?, type = ?, status = ?, last_sync = ?,"
                    " sync_version = ?, python = COALESCE(?, python),"
                    " test_command = COALESCE(?, test_command), status_reason = 'imported',"
                    " updated_at = ? WHERE id = ?",
                    (*values, stamp, row["id"]),
                )
                report.updated.append(entry.name)
    return report


def _portable(path: str, cwd: Path) -> str:
    try:
        return Path(path).relative_to(cwd).as_posix()
    except ValueError:
        return path


async def export_registry(store: Store, cwd: Path) -> str:
    """The stored targets in the registry format (2-space indent, a final newline)."""
    rows = await store.fetchall("SELECT * FROM target ORDER BY name")
    targets: list[dict[str, Any]] = []
    for row in rows:
        entry: dict[str, Any] = {
            "name": row["name"],
            "path": _portable(row["path"], cwd),
            "type": row["type"],
            "last_sync": row["last_sync"],
            "sync_version": row["sync_version"],
            "status": row["status"],
        }
        if row["python"]:
            entry["python"] = _portable(row["python"], cwd)
        if row["test_command"]:
            entry["test_command"] = row["test_command"]
        targets.append(entry)
    return json.dumps({"targets": targets}, indent=2, ensure_ascii=False) + "\n"
